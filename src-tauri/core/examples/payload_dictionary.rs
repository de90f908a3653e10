//! Prints the content of a payload dictionary (`store/payload.rs`): the stored form of the
//! minimised payload of every Stripe fixture in `tests/fixtures/stripe/`, one JSON line each.
//! zstd uses it as a raw-content dictionary, so that a few hundred bytes of JSON compress as
//! well as a long text would: the keys, the object kinds and the shapes repeat from one event
//! to the next, the ids do not.
//!
//! A dictionary in use is frozen (old rows need it to be read): this program is how
//! `payload-dictionary-1.jsonl` was made, and how a later one would be.
//!
//! `cargo run -p privacy-desk-core --example payload_dictionary > FILE`

use std::path::Path;

use privacy_desk_core::store::payload::{stored_form, Columns};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/stripe");
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.as_bytes()[0].is_ascii_digit())
        })
        .collect();
    files.sort();
    for f in files {
        let inc = privacy_desk_core::stripe::event::parse(&std::fs::read(&f)?, 0)
            .map_err(|e| format!("{}: {}", f.display(), e.0))?;
        let row = privacy_desk_core::ingest::row(1, "stripe", inc, 0, None);
        let cols = Columns {
            object_id: row.object_id.as_deref(),
            customer_ref: row.customer_ref.as_deref(),
            observed: &row.observed,
        };
        println!("{}", stored_form(&row.data, cols).0);
    }
    Ok(())
}
