//! A real SMTP listener on loopback that keeps what it receives, so tests read the mail the
//! server actually sent. It speaks the plain-text subset lettre uses (no TLS, no AUTH). A test
//! reads a received message as a recipient's mail client would: headers with RFC 2047 words
//! decoded, and the MIME parts with their transfer encoding undone (see [`ParsedMail`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One received message: the envelope and the raw data.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Debug)]
pub struct SmtpSink {
    pub port: u16,
    pub received: mpsc::UnboundedReceiver<Received>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Listens on `port` (0: any free port), e.g. the one a [`DownServer`] held.
    pub async fn start_on(port: u16) -> Self {
        let listener =
            TcpListener::bind(("127.0.0.1", port)).await.unwrap_or_else(|e| panic!("smtp bind {port}: {e}"));
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

    /// The next message received, waiting up to ten seconds.
    pub async fn next(&mut self) -> Received {
        let got = tokio::time::timeout(Duration::from_secs(10), self.received.recv()).await.ok().flatten();
        got.unwrap_or_else(|| panic!("the listener received nothing"))
    }

    /// The next message, if one arrives within `wait`.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Received> {
        tokio::time::timeout(wait, self.received.recv()).await.ok().flatten()
    }

    /// Asserts that nothing more arrives for a while.
    pub async fn assert_no_more(&mut self) {
        let more = tokio::time::timeout(Duration::from_millis(700), self.received.recv()).await;
        if let Ok(Some(more)) = more {
            panic!("one more message arrived: {}", more.data);
        }
    }
}

async fn session(socket: tokio::net::TcpStream, tx: mpsc::UnboundedSender<Received>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut current = Received { from: String::new(), to: Vec::new(), data: String::new() };
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            current.from = line[10..].trim().trim_matches(['<', '>']).to_owned();
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
            let done = std::mem::replace(
                &mut current,
                Received { from: String::new(), to: Vec::new(), data: String::new() },
            );
            let _ = tx.send(done);
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

/// A mail server that is down: it holds its port, so no other test's listener takes it, and
/// hangs up on every connection at once. [`DownServer::back_up`] brings the server back on the
/// same port as an [`SmtpSink`].
#[derive(Debug)]
pub struct DownServer {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl DownServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        Self { port, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops hanging up (the listener is closed once the task has ended) and listens on the
    /// same port as a working server.
    pub async fn back_up(self) -> SmtpSink {
        self.task.abort();
        let _ = self.task.await;
        SmtpSink::start_on(self.port).await
    }
}

/// A message as a mail client shows it.
#[derive(Debug, Clone)]
pub struct ParsedMail {
    /// Unfolded, RFC 2047 words decoded; names as sent.
    pub headers: Vec<(String, String)>,
    /// The leaf parts: content type (without parameters) and decoded body.
    pub parts: Vec<(String, String)>,
}

impl ParsedMail {
    pub fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (headers, body) = split_head(&raw);
        let mut parts = Vec::new();
        leaf_parts(&headers, body, &mut parts);
        let headers = headers.into_iter().map(|(k, v)| (k, decode_words(&v))).collect();
        Self { headers, parts }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body of the first part of `content_type`, e.g. `text/plain`.
    pub fn part(&self, content_type: &str) -> Option<&str> {
        self.parts.iter().find(|(t, _)| t == content_type).map(|(_, b)| b.as_str())
    }
}

impl Received {
    pub fn parsed(&self) -> ParsedMail {
        ParsedMail::parse(&self.data)
    }
}

/// Headers (unfolded) and the body after the first empty line.
fn split_head(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

fn leaf_parts(headers: &[(String, String)], body: &str, out: &mut Vec<(String, String)>) {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let content_type = header("Content-Type");
    let kind = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if kind.starts_with("multipart/") {
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_owned())
            .unwrap_or_else(|| panic!("multipart without a boundary: {content_type}"));
        let delimiter = format!("--{boundary}");
        for part in body.split(delimiter.as_str()).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let (part_headers, part_body) = split_head(part.trim_start_matches('\n'));
            leaf_parts(&part_headers, part_body, out);
        }
        return;
    }
    let decoded = match header("Content-Transfer-Encoding").to_ascii_lowercase().as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8(STANDARD.decode(compact).unwrap_or_else(|e| panic!("base64 part: {e}")))
                .unwrap_or_else(|e| panic!("part is not UTF-8: {e}"))
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.trim_end_matches('\n').to_owned(),
    };
    out.push((kind, decoded));
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or_default();
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| panic!("QP part is not UTF-8: {e}"))
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`); whitespace between two
/// encoded words is dropped, and their bytes joined before reading them as UTF-8, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut bytes: Vec<u8> = Vec::new();
    let mut space = "";
    for token in value.split_inclusive([' ', '\t']) {
        let word = token.trim_end_matches([' ', '\t']);
        if let Some(decoded) = decode_word(word) {
            if bytes.is_empty() {
                out.push_str(space);
            }
            bytes.extend(decoded);
        } else {
            out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut bytes)));
            out.push_str(space);
            out.push_str(word);
        }
        space = &token[word.len()..];
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    out
}

fn decode_word(word: &str) -> Option<Vec<u8>> {
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut fields = inner.splitn(3, '?');
    let (_charset, encoding, text) = (fields.next()?, fields.next()?, fields.next()?);
    match encoding {
        "b" | "B" => STANDARD.decode(text).ok(),
        "q" | "Q" => Some(quoted_printable(&text.replace('_', " ")).into_bytes()),
        _ => None,
    }
}
