//! 特定健診 (specific health checkup) results: pure functions, no database and no HTTP.
pub mod cda;
pub mod codes;
