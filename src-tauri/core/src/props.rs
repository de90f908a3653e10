//! What the property tests share (`stripe/signature/props.rs`, `stripe/event/props.rs`,
//! `webhook/props.rs`): the case count, arbitrary JSON, one-byte changes and the fixture
//! corpus. `cargo test --lib props` runs them all; `make proptest-long` runs a million cases
//! each.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::Value;

/// Cases per property unless `PROPTEST_CASES` says otherwise: all of them together take
/// about 1.5 s in a debug build on one core (docs: README, "Property tests").
const DEFAULT_CASES: u32 = 1024;

/// [`DEFAULT_CASES`] cases, or `PROPTEST_CASES` when it is set.
pub fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        ..Config::default()
    }
}

/// `bytes` with the byte at `at` replaced by a different one (`bump` in 1..=255 added to it).
pub(crate) fn byte_change(bytes: &[u8], at: Index, bump: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if !out.is_empty() {
        let i = at.index(out.len());
        out[i] = out[i].wrapping_add(bump.max(1));
    }
    out
}

/// Member names the parsers look for, mixed into arbitrary JSON so that it reaches past the
/// first check.
const KEYS: &[&str] = &[
    "id",
    "type",
    "object",
    "data",
    "created",
    "livemode",
    "previous_attributes",
    "related_object",
    "url",
    "customer",
    "charge",
    "payment_intent",
    "email",
    "name",
    "address",
    "line1",
    "city",
    "country",
    "billing_details",
    "customer_details",
    "customer_email",
    "phone",
    "shipping",
    "card",
    "payment_method_details",
    "tax_ids",
    "deleted",
    "outcome",
    "amount",
    "status",
    "eventId",
    "eventType",
    "occurredAt",
    "0",
    "",
];

/// Strings the parsers treat specially.
const WORDS: &[&str] = &[
    "event",
    "v2.core.event",
    "customer",
    "charge",
    "payment_intent",
    "invoice",
    "subscription",
    "checkout.session",
    "refund",
    "dispute",
    "setup_intent",
    "payment_method",
    "evt_1",
    "cus_1",
    "customer.updated",
    "a@example.com",
    " B@Example.COM ",
    "2026-01-14T06:20:52.246Z",
    "0000-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59.999999999-23:59",
    "",
    " ",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Not finite → null, as JSON has no such numbers.
        any::<f64>().prop_map(Value::from),
        prop::sample::select(&[i64::MIN, i64::MAX, 0, -1, 99_999_999_999, 100_000_000_000][..])
            .prop_map(Value::from),
    ]
}

/// Any JSON value, up to 4 levels deep, its member names and strings often ones the parsers
/// know.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        prop::sample::select(WORDS).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// One body of the Stripe fixture corpus (`tests/fixtures/stripe/NN-*.json`).
pub struct Fixture {
    pub file: String,
    pub body: Vec<u8>,
    pub json: Value,
}

/// The 30 fixture bodies, in file order, read once.
pub fn fixtures() -> &'static [Fixture] {
    static ALL: OnceLock<Vec<Fixture>> = OnceLock::new();
    ALL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/stripe");
        let mut all: Vec<Fixture> = std::fs::read_dir(&dir)
            .expect("the fixture directory")
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.len() > 3 && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
            })
            .map(|p| {
                let body = std::fs::read(&p).expect("a fixture file");
                Fixture {
                    file: p.file_name().unwrap().to_string_lossy().into_owned(),
                    json: serde_json::from_slice(&body).expect("a fixture is JSON"),
                    body,
                }
            })
            .collect();
        all.sort_by(|a, b| a.file.cmp(&b.file));
        assert_eq!(all.len(), 30, "the fixture corpus changed");
        all
    })
}
