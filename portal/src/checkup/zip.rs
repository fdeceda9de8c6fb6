//! A 特定健診 submission ZIP (spec §4.1): `ix08_V08.xml`, `DATA/h….xml`, `XSD/…`.
//!
//! Only the `DATA/*.xml` files are returned; the exchange-info file and the schemas are skipped.
//! A ZIP comes from outside, so nothing in it is trusted: the entry count is capped before
//! anything is read, and sizes are counted while inflating (a header can lie about them).

use std::io::{Cursor, Read};

/// Caps that stop a zip bomb before it fills memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries in the archive, counting directories and skipped files.
    pub max_entries: usize,
    /// Uncompressed bytes of all `DATA/*.xml` files together.
    pub max_total_bytes: u64,
    /// Uncompressed bytes of one `DATA/*.xml` file.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    /// One exam is a few tens of kilobytes; a large institution's monthly batch is thousands.
    fn default() -> Self {
        Limits { max_entries: 50_000, max_total_bytes: 200 * 1024 * 1024, max_file_bytes: 10 * 1024 * 1024 }
    }
}

/// One `DATA/h….xml` file: its name without the folder, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("not a readable ZIP archive: {0}")]
    NotZip(#[source] ::zip::result::ZipError),
    #[error("the archive has {found} entries, more than the {limit} allowed")]
    TooManyEntries { found: usize, limit: usize },
    #[error("{name}: larger than the {limit} bytes allowed for one file")]
    FileTooLarge { name: String, limit: u64 },
    #[error("{name}: the data files together exceed the {limit} bytes allowed")]
    TotalTooLarge { name: String, limit: u64 },
    #[error("{name}: cannot be read: {reason}")]
    Unreadable { name: String, reason: String },
    #[error("the archive has no DATA/*.xml file")]
    NoDataFiles,
}

/// The `DATA/*.xml` files of a submission, in archive order.
pub fn read_data_files(archive: &[u8], limits: &Limits) -> Result<Vec<DataFile>, ZipError> {
    let mut zip = ::zip::ZipArchive::new(Cursor::new(archive)).map_err(ZipError::NotZip)?;
    if zip.len() > limits.max_entries {
        return Err(ZipError::TooManyEntries { found: zip.len(), limit: limits.max_entries });
    }
    let mut files = Vec::new();
    let mut total: u64 = 0;
    for index in 0..zip.len() {
        let entry = zip.by_index(index).map_err(|e| ZipError::Unreadable {
            name: format!("entry #{}", index + 1),
            reason: e.to_string(),
        })?;
        let full_name = entry.name().replace('\\', "/");
        let Some(name) = data_file_name(&full_name) else { continue };
        let name = name.to_owned();
        // Refuse early on the declared size, then enforce on what actually inflates.
        if entry.size() > limits.max_file_bytes {
            return Err(ZipError::FileTooLarge { name, limit: limits.max_file_bytes });
        }
        let remaining = limits.max_total_bytes.saturating_sub(total);
        if entry.size() > remaining {
            return Err(ZipError::TotalTooLarge { name, limit: limits.max_total_bytes });
        }
        let cap = limits.max_file_bytes.min(remaining);
        let mut bytes = Vec::new();
        entry
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| ZipError::Unreadable { name: name.clone(), reason: e.to_string() })?;
        let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if read > limits.max_file_bytes {
            return Err(ZipError::FileTooLarge { name, limit: limits.max_file_bytes });
        }
        if read > remaining {
            return Err(ZipError::TotalTooLarge { name, limit: limits.max_total_bytes });
        }
        total += read;
        files.push(DataFile { name, bytes });
    }
    if files.is_empty() { Err(ZipError::NoDataFiles) } else { Ok(files) }
}

/// `DATA/h….xml` → `h….xml`. The folder may sit under one top-level folder (archivers add one
/// named after the ZIP); anything deeper, or elsewhere, is not a data file.
fn data_file_name(path: &str) -> Option<&str> {
    let parts: Vec<&str> = path.split('/').collect();
    let (folder, file) = match parts.as_slice() {
        [folder, file] => (*folder, *file),
        [top, folder, file] if !top.eq_ignore_ascii_case("XSD") => (*folder, *file),
        _ => return None,
    };
    let is_xml = file.len() > 4 && file.get(file.len() - 4..).is_some_and(|e| e.eq_ignore_ascii_case(".xml"));
    (folder.eq_ignore_ascii_case("DATA") && is_xml).then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::zip::write::SimpleFileOptions;
    use std::io::Write;

    const FIXTURE: &[u8] = crate::checkup::fixtures::FIXTURE_2025.as_bytes();

    fn build_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(::zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            writer.start_file(*name, options).unwrap_or_else(|e| panic!("start {name}: {e}"));
            writer.write_all(bytes).unwrap_or_else(|e| panic!("write {name}: {e}"));
        }
        writer.finish().unwrap_or_else(|e| panic!("finish: {e}")).into_inner()
    }

    fn submission() -> Vec<u8> {
        build_zip(&[
            ("ix08_V08.xml", b"<index/>"),
            ("DATA/h0000000001202504150001.xml", FIXTURE),
            ("XSD/hc08_V08.xsd", b"<xs:schema/>"),
            ("XSD/coreschemas/datatypes_hcgv08.xsd", b"<xs:schema/>"),
        ])
    }

    #[test]
    fn a_submission_yields_its_data_files_and_skips_index_and_schemas() {
        let files = read_data_files(&submission(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));

        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "h0000000001202504150001.xml");
        assert_eq!(files[0].bytes, FIXTURE);
        let doc = crate::checkup::cda::parse(&files[0].bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.insurer_number, "06123456");
    }

    #[test]
    fn a_data_folder_under_one_top_level_folder_is_accepted() {
        let zip = build_zip(&[("0000000001_06123456_202505011_1/DATA/h1.xml", b"<a/>")]);

        let files = read_data_files(&zip, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));

        assert_eq!(files[0].name, "h1.xml");
    }

    #[test]
    fn an_archive_without_data_files_is_an_error() {
        let zip =
            build_zip(&[("ix08_V08.xml", b"<index/>"), ("DATA/readme.txt", b"x"), ("XSD/DATA/x.xml", b"x")]);

        assert!(matches!(read_data_files(&zip, &Limits::default()), Err(ZipError::NoDataFiles)));
    }

    #[test]
    fn bytes_that_are_not_a_zip_are_an_error() {
        let e = read_data_files(b"PK\x03\x04 not really", &Limits::default());

        assert!(matches!(e, Err(ZipError::NotZip(_))));
    }

    #[test]
    fn a_highly_compressed_file_beyond_the_file_limit_is_refused() {
        let zeros = vec![0u8; 2 * 1024 * 1024];
        let zip = build_zip(&[("DATA/bomb.xml", &zeros)]);
        assert!(zip.len() < 64 * 1024, "the test needs a small archive, got {}", zip.len());
        let limits = Limits { max_file_bytes: 1024 * 1024, ..Limits::default() };

        let e = read_data_files(&zip, &limits);

        assert!(matches!(e, Err(ZipError::FileTooLarge { ref name, .. }) if name == "bomb.xml"), "{e:?}");
    }

    #[test]
    fn files_that_together_exceed_the_total_limit_are_refused() {
        let chunk = vec![b' '; 600 * 1024];
        let zip = build_zip(&[("DATA/a.xml", &chunk), ("DATA/b.xml", &chunk)]);
        let limits = Limits { max_total_bytes: 1024 * 1024, ..Limits::default() };

        let e = read_data_files(&zip, &limits);

        assert!(matches!(e, Err(ZipError::TotalTooLarge { ref name, .. }) if name == "b.xml"), "{e:?}");
    }

    #[test]
    fn too_many_entries_are_refused_before_reading() {
        let zip = build_zip(&[("DATA/a.xml", b"<a/>"), ("DATA/b.xml", b"<b/>"), ("DATA/c.xml", b"<c/>")]);
        let limits = Limits { max_entries: 2, ..Limits::default() };

        let e = read_data_files(&zip, &limits);

        assert!(matches!(e, Err(ZipError::TooManyEntries { found: 3, limit: 2 })), "{e:?}");
    }
}
