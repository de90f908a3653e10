//! The backup file's format, both ways. An age file (passphrase: scrypt, work factor 2^18)
//! whose payload is a tar stream of three entries, in this order:
//!
//! 1. `manifest.json` — [`Manifest`]: read first, so a backup from a newer schema is refused
//!    before anything is written;
//! 2. `secrets.json` — the keychain entries carried (`[{"account", "secret"}]`);
//! 3. `privacy-desk.db` — the database snapshot, streamed (any size).
//!
//! age authenticates the payload in 64 KiB chunks and marks the last one, so a truncated or
//! altered file fails to read; the database's SHA-256 in the manifest is checked as well.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Manifest;
use crate::error::{Error, Result};
use crate::secrets::{Carried, Secret};

const MANIFEST: &str = "manifest.json";
const SECRETS: &str = "secrets.json";
const DATABASE: &str = "privacy-desk.db";
/// scrypt's work factor when writing: 2^18 (256 MiB, about a second on a laptop).
const WORK_FACTOR: u8 = 18;
/// The largest work factor a restore accepts (2^20: 1 GiB), so that a crafted file cannot make
/// it work for hours.
const MAX_WORK_FACTOR: u8 = 20;
/// The manifest and the secrets are small; a larger entry is not one of ours.
const SMALL_ENTRY_MAX: u64 = 1 << 20;

#[derive(Serialize, Deserialize)]
struct CarriedJson<'a> {
    account: std::borrow::Cow<'a, str>,
    secret: std::borrow::Cow<'a, str>,
}

fn io(what: &str) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::Io(format!("cannot write the backup ({what}): {e}"))
}

/// Writes the backup into `out` (the file `write_private` created): the manifest, the
/// secrets and the database file `db_file`, encrypted with `passphrase`.
pub(super) fn write(
    out: &mut File,
    passphrase: &Secret,
    manifest: &Manifest,
    secrets: &[Carried],
    db_file: &Path,
) -> Result<()> {
    let mut recipient =
        age::scrypt::Recipient::new(SecretString::from(passphrase.expose().to_owned()));
    recipient.set_work_factor(WORK_FACTOR);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
        .map_err(|e| Error::Io(format!("cannot encrypt the backup: {e}")))?;
    let sealed = encryptor
        .wrap_output(BufWriter::with_capacity(1 << 16, out))
        .map_err(io("header"))?;
    let mut tar = tar::Builder::new(sealed);

    let manifest_json = serde_json::to_vec_pretty(manifest).expect("the manifest serialises");
    append(
        &mut tar,
        MANIFEST,
        manifest_json.len() as u64,
        &manifest_json[..],
    )?;

    let list: Vec<CarriedJson> = secrets
        .iter()
        .map(|c| CarriedJson {
            account: c.account.as_str().into(),
            secret: c.secret.expose().into(),
        })
        .collect();
    let secrets_json = Zeroizing::new(serde_json::to_vec(&list).expect("secrets serialise"));
    append(
        &mut tar,
        SECRETS,
        secrets_json.len() as u64,
        &secrets_json[..],
    )?;

    let db = File::open(db_file).map_err(io("the database copy"))?;
    let size = db.metadata().map_err(io("the database copy"))?.len();
    append(
        &mut tar,
        DATABASE,
        size,
        BufReader::with_capacity(1 << 16, db),
    )?;

    let sealed = tar.into_inner().map_err(io("the archive's end"))?;
    let buffered = sealed.finish().map_err(io("the last block"))?;
    buffered
        .into_inner()
        .map_err(|e| io("the last block")(e.into_error()))?;
    Ok(())
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    data: impl Read,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, data).map_err(io(name))
}

/// What reading a backup found before the database.
pub(super) struct Opened {
    pub manifest: Manifest,
    pub secrets: Vec<Carried>,
}

/// Why a backup file could not be read, in the officer's words.
fn damaged(detail: impl std::fmt::Display) -> Error {
    Error::invalid(format!(
        "the backup file is damaged (truncated or altered): {detail}; nothing was restored"
    ))
}

fn not_ours() -> Error {
    Error::invalid("this file is not a Privacy Desk backup; nothing was restored")
}

/// Reads the backup `file` with `passphrase`: `prepare` sees the manifest before anything else
/// is read (and may refuse it) and gives the file the database is streamed into. Fails — after
/// that file was written in part, which the caller removes — when the backup is truncated or
/// altered anywhere, or its database is not the one the manifest names.
pub(super) fn read(
    file: &Path,
    passphrase: &Secret,
    prepare: impl FnOnce(&Manifest) -> Result<File>,
) -> Result<Opened> {
    let f = File::open(file)
        .map_err(|e| Error::invalid(format!("cannot open the backup {}: {e}", file.display())))?;
    let decryptor = match age::Decryptor::new_buffered(BufReader::with_capacity(1 << 16, f)) {
        Ok(d) => d,
        Err(age::DecryptError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(damaged("it ends inside its header"))
        }
        Err(_) => return Err(not_ours()),
    };
    if !decryptor.is_scrypt() {
        return Err(not_ours());
    }
    let mut identity =
        age::scrypt::Identity::new(SecretString::from(passphrase.expose().to_owned()));
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let plain = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::ExcessiveWork { .. } => Error::invalid(
                "this backup's passphrase protection is stronger than Privacy Desk writes: it \
                 is not one of its backups; nothing was restored",
            ),
            age::DecryptError::InvalidHeader | age::DecryptError::InvalidMac => {
                damaged("its header does not check")
            }
            _ => Error::invalid("the passphrase does not open this backup; nothing was restored"),
        })?;
    let mut archive = tar::Archive::new(plain);
    let mut entries = archive.entries().map_err(damaged)?;
    let mut next = |want: &str| -> Result<tar::Entry<'_, _>> {
        let entry = entries
            .next()
            .ok_or_else(|| damaged(format!("{want} is missing")))?
            .map_err(damaged)?;
        let path = entry.path().map_err(damaged)?;
        if path.as_os_str() != want || entry.header().entry_type() != tar::EntryType::Regular {
            return Err(not_ours());
        }
        Ok(entry)
    };

    let manifest: Manifest = {
        let entry = next(MANIFEST)?;
        let mut buf = Vec::new();
        entry
            .take(SMALL_ENTRY_MAX)
            .read_to_end(&mut buf)
            .map_err(damaged)?;
        serde_json::from_slice(&buf).map_err(|_| not_ours())?
    };
    let mut db_out = prepare(&manifest)?;

    let secrets = {
        let entry = next(SECRETS)?;
        let mut buf = Zeroizing::new(Vec::new());
        entry
            .take(SMALL_ENTRY_MAX)
            .read_to_end(&mut buf)
            .map_err(damaged)?;
        let list: Vec<CarriedJson> = serde_json::from_slice(&buf).map_err(|_| not_ours())?;
        list.into_iter()
            .map(|c| Carried {
                account: c.account.into_owned(),
                secret: Secret::new(c.secret.into_owned()),
            })
            .collect()
    };

    {
        let mut entry = next(DATABASE)?;
        let mut hasher = HashingWriter {
            inner: BufWriter::with_capacity(1 << 16, &mut db_out),
            hash: Sha256::new(),
            bytes: 0,
        };
        io::copy(&mut entry, &mut hasher).map_err(damaged)?;
        let HashingWriter { inner, hash, bytes } = hasher;
        let write_err =
            |e: io::Error| Error::Io(format!("cannot write the restored database: {e}"));
        let f = inner.into_inner().map_err(|e| write_err(e.into_error()))?;
        f.sync_all().map_err(write_err)?;
        if bytes != manifest.database.bytes
            || hex::encode(hash.finalize()) != manifest.database.sha256
        {
            return Err(damaged("the database is not the one its manifest names"));
        }
    }
    // Read to the end: age checks the last chunk's mark there (a file cut after the database
    // entry fails here).
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(damaged)?;
    Ok(Opened { manifest, secrets })
}

/// Hashes what passes through into `inner`.
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The SHA-256 (hex) and size of the file `path`.
pub(super) fn digest_of(path: &Path) -> Result<(String, u64)> {
    let mut f =
        File::open(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    let mut hash = Sha256::new();
    let bytes = io::copy(&mut f, &mut hash)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    Ok((hex::encode(hash.finalize()), bytes))
}
