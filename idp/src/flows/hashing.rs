//! Password hashing on a fixed set of threads, one per core.
//!
//! Argon2id is made to cost 19 MiB and tens of milliseconds. On tokio's blocking pool (up to
//! 512 threads) a burst of logins would hash on hundreds of threads at once, each keeping its
//! 19 MiB resident afterwards (glibc does not return freed blocks of that size to the system),
//! and a login flood could take every core. Here at most one hash runs per core, the memory is
//! bounded by the core count, and waiting requests queue.

use super::FlowError;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{mpsc, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// How many requests may wait for a hashing thread before new ones are turned away.
const QUEUE: usize = 1024;

#[derive(Debug, Clone)]
pub struct HashPool {
    jobs: mpsc::Sender<Job>,
}

impl HashPool {
    /// Starts one hashing thread per available core.
    pub fn new() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("password-hash-{n}")).spawn(move || {
                loop {
                    // One thread waits on the queue at a time; the lock is released before the job runs.
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).blocking_recv();
                    match job {
                        Some(job) => job(),
                        None => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self { jobs }
    }

    /// Runs `work` on a hashing thread and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, FlowError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| FlowError::invalid("password", "the hashing threads have stopped"))?;
        result.await.map_err(|_| FlowError::invalid("password", "a hashing thread stopped mid-job"))
    }
}

impl Default for HashPool {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pools_named_threads() -> Result<(), FlowError> {
        let pool = HashPool::new();
        let name = pool.run(|| std::thread::current().name().map(str::to_owned)).await?;
        assert!(name.is_some_and(|n| n.starts_with("password-hash-")));
        let many = futures_join(&pool).await?;
        assert_eq!(many, (0..32).sum::<u64>());
        Ok(())
    }

    async fn futures_join(pool: &HashPool) -> Result<u64, FlowError> {
        let mut handles = Vec::new();
        for i in 0..32_u64 {
            let pool = pool.clone();
            handles.push(tokio::spawn(async move { pool.run(move || i).await }));
        }
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.map_err(|e| FlowError::invalid("test", e))??;
        }
        Ok(sum)
    }
}
