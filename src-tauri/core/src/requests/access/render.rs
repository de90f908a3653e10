//! The package's files from its categories — JSON and CSV per category, `summary.html` (the
//! cover letter, saying what was withheld if anything was), `manifest.json` with the SHA-256 of
//! every other file — and the .zip holding them. The build writes the first package with it,
//! the release (`review.rs`) the final one, from the same categories without what is withheld.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::summary::{Summary, WithheldNote};
use super::{sha256_hex, to_csv, Category, ManifestFile};
use crate::domain::settings::OrgProfile;
use crate::error::{Error, Result};
use crate::requests::Regime;

/// What the package is made of besides its categories.
pub(super) struct Meta<'a> {
    pub id: i64,
    pub org: &'a OrgProfile,
    pub email: &'a str,
    pub regime: Regime,
    /// The request's regime as stored (the manifest's `regime`).
    pub regime_code: &'a str,
    pub received: &'a str,
    /// When the data was gathered (the manifest's `generated_at`).
    pub generated: &'a str,
    /// The cover letter's date.
    pub letter_date: &'a str,
    pub stripe: &'a str,
    pub note: Option<&'a str>,
    pub withheld: Option<&'a WithheldNote>,
    /// Extra fields of the manifest (the release's).
    pub manifest_extra: Map<String, Value>,
}

/// A file of the package: name, bytes, records (for a category's files).
pub(super) type File = (String, Vec<u8>, Option<u64>);

/// The package's files in order, `manifest.json` last, and the manifest's list of the others.
pub(super) fn files(cats: &[Category], m: Meta) -> (Vec<File>, Vec<ManifestFile>) {
    let mut files: Vec<File> = Vec::new();
    for c in cats {
        if c.name.starts_with("stripe_") && c.records.is_empty() && m.stripe != "live" {
            continue;
        }
        let json = serde_json::to_vec_pretty(&c.records).expect("JSON serialises");
        files.push((
            format!("{}.json", c.name),
            json,
            Some(c.records.len() as u64),
        ));
        files.push((
            format!("{}.csv", c.name),
            to_csv(&c.records),
            Some(c.records.len() as u64),
        ));
    }
    let html = Summary {
        org: m.org,
        email: m.email,
        id: m.id,
        regime: m.regime,
        received: m.received,
        generated: m.letter_date,
        cats,
        note: m.note,
        withheld: m.withheld,
    }
    .to_html();
    files.push(("summary.html".into(), html.into_bytes(), None));
    let manifest_files: Vec<ManifestFile> = files
        .iter()
        .map(|(n, b, rec)| ManifestFile {
            name: n.clone(),
            sha256: sha256_hex(b),
            bytes: b.len() as u64,
            records: *rec,
        })
        .collect();
    let mut manifest = json!({
        "request_id": m.id,
        "regime": m.regime_code,
        "generated_at": m.generated,
        "stripe": m.stripe,
        "offline": m.stripe == "offline",
        "note": m.note,
        "controller": m.org.name,
        "files": manifest_files,
    });
    if let Value::Object(o) = &mut manifest {
        o.extend(m.manifest_extra);
    }
    files.push((
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).expect("JSON serialises"),
        None,
    ));
    (files, manifest_files)
}

/// Writes `files` as the .zip `path` (0600, `files::write_private`), each under
/// `access-request-{id}/`; returns the SHA-256 of the .zip.
pub(super) fn write_zip(path: &Path, id: i64, files: &[File]) -> Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
    }
    let io = |e: std::io::Error| Error::Io(format!("cannot write {}: {e}", path.display()));
    crate::files::write_private(path, |f| {
        let mut z = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o600);
        for (name, bytes, _) in files {
            z.start_file(format!("access-request-{id}/{name}"), opts)
                .map_err(|e| Error::Io(format!("cannot write the package: {e}")))?;
            z.write_all(bytes).map_err(io)?;
        }
        z.finish()
            .map_err(|e| Error::Io(format!("cannot write the package: {e}")))?;
        Ok(())
    })?;
    let bytes = std::fs::read(path).map_err(io)?;
    Ok(sha256_hex(&bytes))
}
