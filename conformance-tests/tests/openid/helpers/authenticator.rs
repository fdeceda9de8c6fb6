//! A member's authenticator app as the tests hold it: it scans the QR code the setup page
//! served, decoded from the PNG itself (so the code is proven scannable), and reads the otpauth
//! URI with totp-rs, an implementation independent of the server's.

use super::Page;
use base64::Engine;
use time::OffsetDateTime;
use totp_rs::TOTP;

pub struct AuthenticatorApp {
    totp: TOTP,
    /// What the QR code says.
    pub uri: String,
}

impl AuthenticatorApp {
    /// Scans the QR code on a 「ワンタイムパスワードの設定」 page.
    pub fn scan(page: &Page) -> Self {
        let src = page.attr("img#kc-totp-qr", "src");
        let encoded =
            src.strip_prefix("data:image/png;base64,").unwrap_or_else(|| panic!("not a PNG: {src:.40}"));
        let png = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap_or_else(|e| panic!("{e}"));
        Self::scan_png(&png)
    }

    /// Scans a QR code saved as a PNG file.
    pub fn scan_png(png: &[u8]) -> Self {
        assert_eq!(png.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]), "a real PNG");
        let picture = image::load_from_memory(png).unwrap_or_else(|e| panic!("{e}")).to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(picture);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code");
        let (_, uri) = grids[0].decode().unwrap_or_else(|e| panic!("QR code: {e}"));
        let totp = TOTP::from_url(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        Self { totp, uri }
    }

    /// The code the app shows at `at` (the server's clock).
    pub fn code_at(&self, at: OffsetDateTime) -> String {
        self.totp.generate(u64::try_from(at.unix_timestamp()).unwrap_or_default())
    }
}
