//! The real SMTP listener on loopback the tests read mail from: `shared_runtime::smtp_sink`,
//! shared with the conformance suite.

pub use shared_runtime::smtp_sink::{DownServer, ParsedMail, SmtpSink};
