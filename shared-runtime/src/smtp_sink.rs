//! A real SMTP listener on loopback that keeps what it receives, so tests read the mail a server
//! actually sent. It speaks the plain-text subset lettre uses (no TLS, no AUTH).

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One received message: the envelope and the raw data (dot-unstuffed).
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The message with every part's transfer encoding undone (base64 and quoted-printable),
    /// headers kept: good enough to find a link or a word in either part.
    pub fn decoded(&self) -> String {
        let mut out = String::new();
        let mut base64_part = false;
        let mut in_body = false;
        let mut chunk = String::new();
        for line in self.data.lines() {
            if line.starts_with("--") {
                out.push_str(&flush(&mut chunk, base64_part));
                out.push_str(line);
                out.push('\n');
                base64_part = false;
                in_body = false;
                continue;
            }
            if !in_body {
                if line.to_ascii_lowercase().starts_with("content-transfer-encoding: base64") {
                    base64_part = true;
                }
                in_body = line.is_empty();
                out.push_str(line);
                out.push('\n');
                continue;
            }
            chunk.push_str(line);
            chunk.push('\n');
        }
        out.push_str(&flush(&mut chunk, base64_part));
        out
    }
}

fn flush(chunk: &mut String, base64_part: bool) -> String {
    let raw = std::mem::take(chunk);
    if base64_part {
        let compact: String = raw.split_whitespace().collect();
        return match base64::Engine::decode(&base64::engine::general_purpose::STANDARD, compact) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => raw,
        };
    }
    quoted_printable(&raw)
}

fn quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug)]
pub struct SmtpSink {
    pub port: u16,
    pub received: mpsc::UnboundedReceiver<Received>,
}

impl SmtpSink {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("smtp bind: {e}"));
        Self::serve(listener)
    }

    /// Listens on `port` (a listener that comes up late, where a server already points).
    pub async fn start_on(port: u16) -> Self {
        let listener =
            TcpListener::bind(("127.0.0.1", port)).await.unwrap_or_else(|e| panic!("smtp bind {port}: {e}"));
        Self::serve(listener)
    }

    fn serve(listener: TcpListener) -> Self {
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let (tx, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = session(socket, tx).await;
                });
            }
        });
        Self { port, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next message, waiting up to ten seconds; panics when none comes.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.received.recv())
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the SMTP listener received nothing"))
    }

    /// Whether a message arrives within `wait`.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Received> {
        tokio::time::timeout(wait, self.received.recv()).await.ok().flatten()
    }
}

async fn session(socket: tokio::net::TcpStream, tx: mpsc::UnboundedSender<Received>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let empty = || Received { from: String::new(), to: Vec::new(), data: String::new() };
    let mut current = empty();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            current.from =
                line[10..].trim().split(' ').next().unwrap_or_default().trim_matches(['<', '>']).to_owned();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            current.to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            while let Some(data) = lines.next_line().await? {
                if data == "." {
                    break;
                }
                current.data.push_str(data.strip_prefix('.').unwrap_or(&data));
                current.data.push('\n');
            }
            let _ = tx.send(std::mem::replace(&mut current, empty()));
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
