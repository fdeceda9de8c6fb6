//! The documents a sheet carries (§5 attachments): which kinds exist, and whether an upload is
//! one we keep. What a file is comes from its first bytes, never from its name or the type the
//! browser claimed: an executable renamed `.pdf` is refused.

use serde::{Deserialize, Serialize};

/// 添付書類 (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// (非)課税証明書, the latest year, every entry printed.
    IncomeCertificate,
    /// 源泉徴収票 or 給与明細 (直近3か月).
    SalaryProof,
    /// 確定申告書・収支内訳書 (事業).
    TaxReturn,
    /// 年金振込通知書 / 改定通知書 (遺族・障害を含む).
    PensionNotice,
    /// 送金証明 (通帳写し: いつ・誰が・誰に・いくら).
    RemittanceProof,
    /// 在学証明書 / 学生証の写し.
    StudentCertificate,
    /// 住民票 (世帯全員) / 戸籍.
    ResidenceRecord,
    /// Anything else the member wants the kenpo to see.
    Other,
}

impl DocumentKind {
    pub const ALL: [Self; 8] = [
        Self::IncomeCertificate,
        Self::SalaryProof,
        Self::TaxReturn,
        Self::PensionNotice,
        Self::RemittanceProof,
        Self::StudentCertificate,
        Self::ResidenceRecord,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::IncomeCertificate => "income_certificate",
            Self::SalaryProof => "salary_proof",
            Self::TaxReturn => "tax_return",
            Self::PensionNotice => "pension_notice",
            Self::RemittanceProof => "remittance_proof",
            Self::StudentCertificate => "student_certificate",
            Self::ResidenceRecord => "residence_record",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The default largest upload: a phone photo of a document is 2–5 MB.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// A file we keep, as its content says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: &'static str,
    pub extension: &'static str,
}

/// Why an upload is refused; each is a message the member reads (its catalogue key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefusal {
    #[error("no file was chosen")]
    Empty,
    #[error("the file is larger than the limit")]
    TooLarge,
    #[error("the content is not a JPEG, PNG, HEIC or PDF")]
    NotAcceptedType,
    #[error("no such document kind")]
    UnknownKind,
    #[error("the sheet takes no documents now")]
    Closed,
}

impl UploadRefusal {
    pub const ALL: [Self; 5] =
        [Self::Empty, Self::TooLarge, Self::NotAcceptedType, Self::UnknownKind, Self::Closed];

    /// The catalogue key of the message.
    pub fn key(self) -> &'static str {
        match self {
            Self::Empty => "survey.upload.empty",
            Self::TooLarge => "survey.upload.too_large",
            Self::NotAcceptedType => "survey.upload.type",
            Self::UnknownKind => "survey.upload.kind",
            Self::Closed => "survey.upload.closed",
        }
    }

    /// Back from the short code the page's address carries after a redirect.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn code(self) -> &'static str {
        self.key().trim_start_matches("survey.upload.")
    }
}

/// JPEG, PNG, HEIC (iPhone photos) and PDF, told by their magic bytes.
pub fn sniff(content: &[u8]) -> Result<Sniffed, UploadRefusal> {
    if content.is_empty() {
        return Err(UploadRefusal::Empty);
    }
    let kind = infer::get(content).ok_or(UploadRefusal::NotAcceptedType)?;
    match kind.mime_type() {
        "image/jpeg" => Ok(Sniffed { content_type: "image/jpeg", extension: "jpg" }),
        "image/png" => Ok(Sniffed { content_type: "image/png", extension: "png" }),
        "image/heif" => Ok(Sniffed { content_type: "image/heic", extension: "heic" }),
        "application/pdf" => Ok(Sniffed { content_type: "application/pdf", extension: "pdf" }),
        _ => Err(UploadRefusal::NotAcceptedType),
    }
}

/// A file name as the member's device gave it, fit to show back: its last path segment, no
/// control characters, at most 100 characters. Never used in a storage path.
pub fn display_name(raw: Option<&str>) -> String {
    let name = raw.unwrap_or_default();
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(100).collect();
    if clean.trim().is_empty() { "document".to_owned() } else { clean }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first bytes of each kind, as the formats define them.
    pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
    const PDF: &[u8] = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<<>>\nendobj\n";
    const HEIC: &[u8] = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0";
    /// An ELF executable's header, the kind a renamed `.pdf` might hide.
    const ELF: &[u8] = b"\x7FELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3E\0";
    /// A Windows executable's.
    const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF\0\0";

    #[test]
    fn images_and_pdf_are_told_by_their_content() {
        assert_eq!(sniff(PNG).map(|s| s.content_type), Ok("image/png"));
        assert_eq!(sniff(JPEG).map(|s| s.content_type), Ok("image/jpeg"));
        assert_eq!(sniff(PDF).map(|s| s.extension), Ok("pdf"));
        assert_eq!(sniff(HEIC).map(|s| s.content_type), Ok("image/heic"));
    }

    #[test]
    fn executables_text_and_nothing_are_refused_whatever_their_name() {
        assert_eq!(sniff(ELF), Err(UploadRefusal::NotAcceptedType));
        assert_eq!(sniff(EXE), Err(UploadRefusal::NotAcceptedType));
        assert_eq!(sniff(b"just some text that claims to be a pdf"), Err(UploadRefusal::NotAcceptedType));
        assert_eq!(sniff(b""), Err(UploadRefusal::Empty));
    }

    #[test]
    fn file_names_are_only_for_show() {
        assert_eq!(display_name(Some("C:\\Users\\taro\\給与明細.pdf")), "給与明細.pdf");
        assert_eq!(display_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(display_name(Some("a\nb.png")), "ab.png");
        assert_eq!(display_name(None), "document");
    }

    #[test]
    fn refusals_round_trip_through_their_codes() {
        for r in UploadRefusal::ALL {
            assert_eq!(UploadRefusal::from_code(r.code()), Some(r));
        }
        assert_eq!(UploadRefusal::from_code("<script>"), None);
        for k in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(k.as_str()), Some(k));
        }
    }
}
