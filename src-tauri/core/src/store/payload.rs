//! How `events.data`, an event's minimised payload (JSON), is kept: without what the row's
//! own columns already hold, compressed with zstd against a fixed dictionary, as a BLOB of
//! one header byte and one zstd frame.
//!
//! A payload is a few hundred bytes of JSON whose keys, object kinds and shapes repeat from
//! one event to the next while its ids do not. Its ids are the costly part, and the row holds
//! the object's and the customer's in `object_id` and `customer_ref`: the stored form leaves
//! out the top-level `object_id`, `customer_ref` and `observed` and the `fields.id` and
//! `fields.customer` equal to them, and the header byte says which it left out, so that
//! reading puts back exactly those. The rest compresses about threefold against examples of
//! the same shapes (docs/benchmarks.md, "The app at scale"). The dictionary is raw content,
//! not a trained one: `payload-dictionary-1.jsonl`, the stored form of the Stripe fixtures'
//! payloads (made by `examples/payload_dictionary.rs`). A dictionary in use is frozen, since
//! the rows compressed with it need it to be read: a new one gets a new number in the header
//! and this module keeps reading the old.
//!
//! Rows stored before schema v17 hold the JSON as TEXT, and are read as they are. Readers see
//! the same JSON value as was written (its keys may come back in another order).

use std::cell::RefCell;

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The columns a stored payload is read with, in this order, ending with `data` itself:
/// select them together and read them with [`read`].
pub const COLUMNS: &str = "object_id, customer_ref, observed, data";

/// The header byte: the dictionary's number in the top 3 bits, in the low 5 what the stored
/// form left out.
const DICTIONARY_SHIFT: u8 = 5;
const DICTIONARY_1: u8 = 1;
const DICTIONARY_1_BYTES: &[u8] = include_bytes!("payload-dictionary-1.jsonl");
const OBJECT_ID: u8 = 1;
const CUSTOMER_REF: u8 = 1 << 1;
const OBSERVED: u8 = 1 << 2;
const FIELDS_ID: u8 = 1 << 3;
const FIELDS_CUSTOMER: u8 = 1 << 4;
/// zstd's level: from 3 to 6 the stored form shrinks by ~5 % but takes 2.5 times as long on
/// the writer thread (docs/benchmarks.md).
const LEVEL: i32 = 3;
/// No payload is larger than the 1 MiB a webhook body may be: a frame that says it is comes
/// from a damaged file.
const MAX_LEN: u64 = 2 << 20;

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// What the row holds beside its payload (`events.object_id`, `customer_ref`, `observed`).
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub object_id: Option<&'a str>,
    pub customer_ref: Option<&'a str>,
    /// The categories joined by commas, as `events.observed` holds them.
    pub observed: &'a str,
}

/// The JSON a payload is stored as before compression, and what it left out. A payload that
/// is not a JSON object is kept as it is.
pub fn stored_form(json: &str, cols: Columns<'_>) -> (String, u8) {
    let Ok(mut m) = serde_json::from_str::<Map<String, Value>>(json) else {
        return (json.to_owned(), 0);
    };
    let mut left_out = 0;
    let mut take = |m: &mut Map<String, Value>, key: &str, column: Option<&str>, flag: u8| {
        if column.is_some() && m.get(key).and_then(Value::as_str) == column {
            m.remove(key);
            left_out |= flag;
        }
    };
    take(&mut m, "object_id", cols.object_id, OBJECT_ID);
    take(&mut m, "customer_ref", cols.customer_ref, CUSTOMER_REF);
    if let Some(Value::Object(f)) = m.get_mut("fields") {
        take(f, "id", cols.object_id, FIELDS_ID);
        take(f, "customer", cols.customer_ref, FIELDS_CUSTOMER);
    }
    if m.get("observed")
        .is_some_and(|o| *o == observed_list(cols.observed))
    {
        m.remove("observed");
        left_out |= OBSERVED;
    }
    (Value::Object(m).to_string(), left_out)
}

fn observed_list(column: &str) -> Value {
    Value::Array(column.split(',').map(|c| Value::String(c.into())).collect())
}

/// Puts back what [`stored_form`] left out.
fn restore(stored: &str, left_out: u8, cols: Columns<'_>) -> std::result::Result<String, ()> {
    let mut m = serde_json::from_str::<Map<String, Value>>(stored).map_err(drop)?;
    let column = |c: Option<&str>| c.map(|s| Value::String(s.into())).ok_or(());
    if left_out & OBJECT_ID != 0 {
        m.insert("object_id".into(), column(cols.object_id)?);
    }
    if left_out & CUSTOMER_REF != 0 {
        m.insert("customer_ref".into(), column(cols.customer_ref)?);
    }
    if left_out & (FIELDS_ID | FIELDS_CUSTOMER) != 0 {
        let Some(Value::Object(f)) = m.get_mut("fields") else {
            return Err(());
        };
        if left_out & FIELDS_ID != 0 {
            f.insert("id".into(), column(cols.object_id)?);
        }
        if left_out & FIELDS_CUSTOMER != 0 {
            f.insert("customer".into(), column(cols.customer_ref)?);
        }
    }
    if left_out & OBSERVED != 0 {
        m.insert("observed".into(), observed_list(cols.observed));
    }
    Ok(Value::Object(m).to_string())
}

fn compressor() -> std::io::Result<zstd::bulk::Compressor<'static>> {
    use zstd::zstd_safe::CParameter;
    let mut c = zstd::bulk::Compressor::with_dictionary(LEVEL, DICTIONARY_1_BYTES)?;
    // No checksum (4 bytes an event, and the rest of the row has none either): a damaged
    // frame mostly fails to decode or to parse as JSON. The content size lets reading allocate
    // exactly.
    c.set_parameter(CParameter::ChecksumFlag(false))?;
    c.set_parameter(CParameter::ContentSizeFlag(true))?;
    Ok(c)
}

/// A payload as stored: bind it where `events.data` is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored(Vec<u8>);

/// The stored form of `json`, the payload of a row with `cols`.
pub(crate) fn encode(json: &str, cols: Columns<'_>) -> Result<Stored> {
    let (form, left_out) = stored_form(json, cols);
    let frame = COMPRESSOR
        .with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.is_none() {
                *cell = Some(compressor()?);
            }
            match cell.as_mut() {
                Some(c) => c.compress(form.as_bytes()),
                None => unreachable!("set above"),
            }
        })
        .map_err(|e| Error::Database(format!("an event's payload could not be compressed: {e}")))?;
    let mut out = Vec::with_capacity(frame.len() + 1);
    out.push(DICTIONARY_1 << DICTIONARY_SHIFT | left_out);
    out.extend_from_slice(&frame);
    Ok(Stored(out))
}

impl ToSql for Stored {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Blob(&self.0)))
    }
}

/// The payload's JSON, from the [`COLUMNS`] selected from column `first` on.
pub fn read(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<String> {
    let (form, left_out) = stored_at(r, first + 3)?;
    if left_out == 0 {
        return Ok(form);
    }
    let object_id: Option<String> = r.get(first)?;
    let customer_ref: Option<String> = r.get(first + 1)?;
    let observed: String = r.get(first + 2)?;
    let cols = Columns {
        object_id: object_id.as_deref(),
        customer_ref: customer_ref.as_deref(),
        observed: &observed,
    };
    restore(&form, left_out, cols).map_err(|()| damaged(first + 3, "cannot restore"))
}

/// The payload's JSON without what the row's own columns hold (`object_id`, `customer_ref`,
/// `observed`, `fields.id`, `fields.customer` may be missing), from the `data` column `i`:
/// for a reader that needs none of them (the linker reads only `subject` and `related`),
/// which then does not parse and rewrite the whole payload to put them back.
pub fn read_without_columns(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(stored_at(r, i)?.0)
}

/// The stored form in column `i` and what it left out. A row stored as TEXT before v17 is
/// the JSON itself, with nothing left out.
fn stored_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<(String, u8)> {
    match r.get_ref(i)? {
        ValueRef::Text(t) => String::from_utf8(t.to_vec())
            .map(|json| (json, 0))
            .map_err(|_| damaged(i, "not UTF-8")),
        ValueRef::Blob(b) => decompress(b).map_err(|what| damaged(i, what)),
        _ => Err(damaged(i, "not a payload")),
    }
}

/// The error for a payload in column `i` that cannot be read; it names no content.
fn damaged(i: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        i,
        rusqlite::types::Type::Blob,
        format!("an event's stored payload is damaged ({what})").into(),
    )
}

/// The stored form's JSON and what it left out.
fn decompress(blob: &[u8]) -> std::result::Result<(String, u8), &'static str> {
    let (header, frame) = blob.split_first().ok_or("empty")?;
    if header >> DICTIONARY_SHIFT != DICTIONARY_1 {
        return Err("unknown dictionary");
    }
    let len = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n <= MAX_LEN => n as usize,
        _ => return Err("bad frame header"),
    };
    let bytes = DECOMPRESSOR
        .with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.is_none() {
                *cell = Some(zstd::bulk::Decompressor::with_dictionary(
                    DICTIONARY_1_BYTES,
                )?);
            }
            match cell.as_mut() {
                Some(d) => d.decompress(frame, len),
                None => unreachable!("set above"),
            }
        })
        .map_err(|_| "bad frame")?;
    let form = String::from_utf8(bytes).map_err(|_| "not UTF-8")?;
    Ok((form, header & ((1 << DICTIONARY_SHIFT) - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Rows compressed against it need it byte for byte: a change is a new dictionary with a
    /// new number, never an edit of this one.
    #[test]
    fn the_dictionary_in_use_is_frozen() {
        assert_eq!(
            hex::encode(Sha256::digest(DICTIONARY_1_BYTES)),
            "5d7b2e781fcde26e0f11af3ebf3cf2cbc3afb5108502a81aef7cebfb5a21a36f",
            "payload-dictionary-1.jsonl changed: rows stored with it could not be read"
        );
    }

    struct Row {
        object_id: Option<&'static str>,
        customer_ref: Option<&'static str>,
        observed: &'static str,
    }

    fn table() -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (object_id TEXT, customer_ref TEXT, observed TEXT NOT NULL,
                             data TEXT NOT NULL)",
        )
        .unwrap();
        conn
    }

    /// Stores `json` as the receiver does and reads it back.
    fn round_trip(conn: &rusqlite::Connection, row: &Row, json: &str) -> (usize, String) {
        let cols = Columns {
            object_id: row.object_id,
            customer_ref: row.customer_ref,
            observed: row.observed,
        };
        let stored = encode(json, cols).unwrap();
        conn.execute("DELETE FROM t", []).unwrap();
        conn.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![row.object_id, row.customer_ref, row.observed, stored],
        )
        .unwrap();
        let t: String = conn
            .query_row("SELECT typeof(data) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(t, "blob", "a TEXT column keeps the BLOB as it is");
        let back = conn
            .query_row(&format!("SELECT {COLUMNS} FROM t"), [], |r| read(r, 0))
            .unwrap();
        (stored.0.len(), back)
    }

    fn value(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_fixture_reads_back_as_it_was_in_a_third_of_the_bytes() {
        let conn = table();
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/stripe");
        let (mut raw, mut stored, mut n) = (0, 0, 0);
        for f in std::fs::read_dir(dir).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".json") || !name.as_bytes()[0].is_ascii_digit() {
                continue;
            }
            let inc = crate::stripe::event::parse(&std::fs::read(&p).unwrap(), 0).unwrap();
            let e = crate::ingest::row(1, "stripe", inc, 0, None);
            let row = Row {
                object_id: e.object_id.clone().map(|s| &*s.leak()),
                customer_ref: e.customer_ref.clone().map(|s| &*s.leak()),
                observed: e.observed.clone().leak(),
            };
            let (len, back) = round_trip(&conn, &row, &e.data);
            assert_eq!(value(&back), value(&e.data), "{name}");
            // What the linker reads, without the columns put back: the same subject and
            // related ids, and none of the row's own columns.
            let partial = value(
                &conn
                    .query_row("SELECT data FROM t", [], |r| read_without_columns(r, 0))
                    .unwrap(),
            );
            let full = value(&e.data);
            for key in ["subject", "related"] {
                assert_eq!(partial.get(key), full.get(key), "{name}: {key}");
            }
            for key in ["object_id", "customer_ref", "observed"] {
                let column = full.get(key).filter(|v| !v.is_null());
                assert!(
                    column.is_none() || partial.get(key).is_none(),
                    "{name}: {key}"
                );
            }
            raw += e.data.len();
            stored += len;
            n += 1;
        }
        assert_eq!(n, 30);
        assert!(stored * 3 < raw, "{stored} of {raw} bytes");
    }

    /// Only what equals the row's columns is left out; anything else comes back as it was.
    #[test]
    fn what_differs_from_the_columns_is_kept() {
        let conn = table();
        let row = Row {
            object_id: Some("ch_1"),
            customer_ref: Some("cus_1"),
            observed: "email,name",
        };
        for json in [
            // The generic webhook's fields may hold an `id` of their own.
            r#"{"object":"charge","object_id":"ch_1","fields":{"id":"other","customer":"cus_2"}}"#,
            r#"{"object":"charge","fields":{"amount":1},"observed":["name","email"]}"#,
            r#"{"object":"charge","object_id":"ch_2","customer_ref":"cus_1","fields":{}}"#,
            r#"{"fields":"not an object","object_id":"ch_1","observed":["email","name"]}"#,
            r#"{"subject":{"email":"zoë.müller@example.com","name":"Zoë Müller"}}"#,
            "{}",
            "[1,2]",
        ] {
            assert_eq!(
                value(&round_trip(&conn, &row, json).1),
                value(json),
                "{json}"
            );
        }
        let none = Row {
            object_id: None,
            customer_ref: None,
            observed: "",
        };
        let json = r#"{"object":"payout","object_id":null,"fields":{"id":"po_1"},"observed":[""]}"#;
        assert_eq!(value(&round_trip(&conn, &none, json).1), value(json));
        // Large payloads too.
        let big = format!(r#"{{"pad":"{}"}}"#, "é".repeat(300_000));
        assert_eq!(round_trip(&conn, &row, &big).1, big);
    }

    #[test]
    fn rows_stored_as_text_before_v17_read_as_they_are() {
        let conn = table();
        conn.execute_batch(
            r#"INSERT INTO t VALUES ('ch_1', 'cus_1', 'email', '{"object_id":"ch_1"}')"#,
        )
        .unwrap();
        let back = conn
            .query_row(&format!("SELECT {COLUMNS} FROM t"), [], |r| read(r, 0))
            .unwrap();
        assert_eq!(back, r#"{"object_id":"ch_1"}"#);
    }

    /// A damaged blob is an error that names no content, never a panic or a huge allocation.
    #[test]
    fn a_damaged_payload_is_an_error() {
        let conn = table();
        let json = r#"{"object":"customer","object_id":"cus_1","fields":{"id":"cus_1","n":"Zoë"}}"#;
        let cols = Columns {
            object_id: Some("cus_1"),
            customer_ref: None,
            observed: "",
        };
        let good = encode(json, cols).unwrap().0;
        // A frame header claiming 4 GiB of content (single segment, 4-byte size field).
        let mut huge = good[..1].to_vec();
        huge.extend_from_slice(&[0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0xff, 0xff, 0xff, 0xff, 0]);
        let cut = good[..good.len() - 3].to_vec();
        let mut other_dictionary = good.clone();
        other_dictionary[0] = 2 << DICTIONARY_SHIFT | (good[0] & 0x1f);
        // Says `fields.customer` was left out, but the row has no customer.
        let mut wrong_flags = good.clone();
        wrong_flags[0] |= FIELDS_CUSTOMER;
        for bad in [
            vec![],
            good[..1].to_vec(),
            huge,
            cut,
            other_dictionary,
            wrong_flags,
        ] {
            conn.execute("DELETE FROM t", []).unwrap();
            conn.execute("INSERT INTO t VALUES ('cus_1', NULL, '', ?1)", [&bad])
                .unwrap();
            let e = conn
                .query_row(&format!("SELECT {COLUMNS} FROM t"), [], |r| read(r, 0))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("damaged") && !e.contains("cus_1") && !e.contains("Zo"),
                "{e}"
            );
        }
    }
}
