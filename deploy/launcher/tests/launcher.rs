//! The launcher as a newcomer runs it: one process, both services, the demo kenpo, a clean stop.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn starts_idp_and_portal_with_the_demo_kenpo_and_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = data.path().display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kenpo"))
        .env("KENPO_IDP_LISTEN", "127.0.0.1:0")
        .env("KENPO_PORTAL_LISTEN", "127.0.0.1:0")
        .env("KENPO_IDP_DATA_DIR", &dir)
        .env("KENPO_PORTAL_DATA_DIR", &dir)
        .env_remove("KENPO_IDP_DATABASE_URL")
        .env_remove("KENPO_PORTAL_DATABASE_URL")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start kenpo: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
    // Read the banner until its last line, on a thread: reading blocks.
    let banner = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.contains("stop with Ctrl-C");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    });
    let banner = tokio::time::timeout(Duration::from_secs(120), banner)
        .await
        .unwrap_or_else(|_| panic!("no banner within 120 s"))
        .unwrap_or_default();
    let url_of = |label: &str| {
        banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(label).map(|u| u.trim().trim_end_matches('/').to_owned()))
            .unwrap_or_else(|| panic!("no {label} line in {banner:?}"))
    };
    let (portal, idp) = (url_of("portal:"), url_of("idp:"));
    assert!(banner.iter().any(|l| l.contains("k00000001") && l.contains("Demo-Pass-0001")), "{banner:?}");

    let top = reqwest::get(format!("{portal}/")).await.and_then(|r| r.error_for_status());
    let top = top.unwrap_or_else(|e| panic!("portal top page: {e}")).text().await.unwrap_or_default();
    assert!(top.contains("デモ健康保険組合加入者ページ"), "{top}");
    let jwks = reqwest::get(format!("{idp}/realms/demo/protocol/openid-connect/certs")).await;
    assert_eq!(jwks.map(|r| r.status().as_u16()).ok(), Some(200));

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.map(|s| s.success()).unwrap_or(false));
    let status = tokio::task::spawn_blocking(move || child.wait()).await;
    let status = status.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "SIGTERM ends the launcher cleanly: {status}");
}
