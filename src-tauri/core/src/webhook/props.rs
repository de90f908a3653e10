//! Property tests of the generic webhook: its HMAC check and its JSON pointers.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

use super::*;
use crate::ingest::model::{normalise_email, Minimised, SubjectData};
use crate::props::{byte_change, config, json};
use crate::secrets::Secret;
use serde_json::Map;

const RECEIVED: i64 = 1_763_000_000_123;

fn encoding() -> impl Strategy<Value = SignatureEncoding> {
    prop_oneof![
        Just(SignatureEncoding::Hex),
        Just(SignatureEncoding::Base64)
    ]
}

/// A prefix `check` accepts: at most 100 characters, none a control character.
fn prefix() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("sha256=".to_owned()),
        "[ -~]{0,12}",
        " {0,2}[!-~]{0,8} {0,2}",
        "\\PC{0,20}",
    ]
}

fn config_with(prefix: String, encoding: SignatureEncoding) -> WebhookConfig {
    WebhookConfig {
        signature_header: "X-Signature".into(),
        signature_encoding: encoding,
        signature_prefix: prefix,
        id_pointer: "/id".into(),
        type_pointer: "/type".into(),
        time_pointer: Some("/time".into()),
        email_pointer: "/email".into(),
        name_pointer: Some("/name".into()),
        timestamp: None,
    }
}

fn signing() -> impl Strategy<Value = (WebhookConfig, Secret)> {
    (prefix(), encoding(), any::<String>()).prop_map(|(p, e, s)| {
        let c = config_with(p, e);
        assert!(c.check().is_ok(), "{c:?}");
        (c, Secret::new(s))
    })
}

/// A pointer: often a well-formed one, sometimes anything.
fn pointer() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec("[a-z0-9~/]{0,4}|[0-9]{1,2}|-", 0..4)
            .prop_map(|t| t.iter().map(|t| format!("/{t}")).collect()),
        1 => any::<String>(),
    ]
}

/// One step of a path into a document: a member, or an array element.
#[derive(Debug, Clone)]
enum Step {
    Member(String),
    Element(usize),
}

fn path() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        any::<String>().prop_map(Step::Member),
        "[a-z0-9~/]{0,4}".prop_map(Step::Member),
        (0..4usize).prop_map(Step::Element),
    ];
    prop::collection::vec(step, 0..5)
}

/// `value` placed at `path` in a new document, and the RFC 6901 pointer to it.
fn place(path: &[Step], value: Value) -> (Value, String) {
    let doc = path.iter().rev().fold(value, |inner, step| match step {
        Step::Member(k) => {
            let mut m = Map::new();
            m.insert("~other".into(), json!(1));
            m.insert(k.clone(), inner);
            Value::Object(m)
        }
        Step::Element(i) => {
            let mut a = vec![Value::Null; *i];
            a.push(inner);
            a.push(json!("after"));
            Value::Array(a)
        }
    });
    let pointer = path
        .iter()
        .map(|s| match s {
            Step::Member(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
            Step::Element(i) => format!("/{i}"),
        })
        .collect();
    (doc, pointer)
}

/// What `parse` should make of a number or string in the body.
#[derive(Debug, Clone)]
enum Want<T> {
    Exactly(T),
    /// From a JSON float: serde_json (without its `float_roundtrip` feature) may read the
    /// written-out float back a unit in the last place off, so only near this.
    Near(f64),
}

impl Want<i64> {
    /// Whether `parse` refuses this time: it reads, but lies outside the years 0001–9999.
    fn out_of_range(&self) -> bool {
        let at = match self {
            Want::Exactly(at) => *at,
            Want::Near(f) => ms(*f as i64),
        };
        !crate::time::in_range(at)
    }
}

/// `x` read as a time: seconds, or milliseconds when that large.
fn ms(x: i64) -> i64 {
    if x.unsigned_abs() >= 100_000_000_000 {
        x
    } else {
        x * 1000
    }
}

/// How many representable floats apart `a` and `b` are.
fn ulps_apart(a: f64, b: f64) -> u64 {
    // The bits in the order of the floats: negative ones mirrored below zero.
    let key = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 {
            i64::MIN - bits
        } else {
            bits
        }
    };
    key(a).abs_diff(key(b))
}

impl Want<i64> {
    fn holds(&self, got: i64) -> bool {
        match self {
            Want::Exactly(w) => got == *w,
            Want::Near(f) => {
                let w = ms(*f as i64);
                got.abs_diff(w) as f64 <= (w as f64).abs().mul_add(1e-15, 1000.0)
            }
        }
    }
}

impl Want<String> {
    fn holds(&self, got: &str) -> bool {
        match self {
            Want::Exactly(w) => got == w,
            Want::Near(f) => got.parse::<f64>().is_ok_and(|g| ulps_apart(g, *f) <= 2),
        }
    }
}

/// A time as a body may carry it, and the unix ms it stands for.
fn time() -> impl Strategy<Value = (Value, Want<i64>)> {
    let exactly = |x: i64| (Value::from(x), Want::Exactly(ms(x)));
    prop_oneof![
        any::<i64>().prop_map(exactly),
        (-200_000_000_000..200_000_000_000i64).prop_map(exactly),
        (i64::MAX as u64..=u64::MAX).prop_map(|x| (Value::from(x), Want::Exactly(i64::MAX))),
        // JSON floats: truncated, and saturated beyond i64 (`as`).
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| (Value::from(f), Want::Near(f))),
        // RFC 3339 (four-digit years: 0000-01-02 to 9999-12-30), in any offset (whole
        // minutes).
        (-62_167_132_800_000..=253_402_128_000_000i64, -1439..1440i32).prop_map(|(ms, off)| {
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
            let off = chrono::FixedOffset::east_opt(off * 60)
                .unwrap_or(chrono::FixedOffset::east_opt(0).unwrap());
            (
                Value::from(t.with_timezone(&off).to_rfc3339()),
                Want::Exactly(t.timestamp_millis()),
            )
        }),
        Just((json!("yesterday"), Want::Exactly(RECEIVED))),
        Just((Value::Null, Want::Exactly(RECEIVED))),
    ]
}

/// An id or type as a body may carry it, and what `parse` makes of it (`None`: refused).
fn token_value() -> impl Strategy<Value = (Value, Option<Want<String>>)> {
    fn want(v: &Value) -> Option<Want<String>> {
        match v {
            Value::String(s) => {
                let s = s.trim();
                let ok = !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control);
                ok.then(|| Want::Exactly(s.to_owned()))
            }
            Value::Number(n) if n.is_f64() => n.as_f64().map(Want::Near),
            Value::Number(n) => Some(Want::Exactly(n.to_string())),
            _ => None,
        }
    }
    prop_oneof![
        "[!-~][ -~]{0,30}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[ -~]{250,260}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        json(),
    ]
    .prop_map(|v| {
        let w = want(&v);
        (v, w)
    })
}

/// Whether `changed` (`header`, prefix + encoded signature, with its byte at `i` replaced)
/// spells the same signature, which this adapter accepts by design: whitespace for
/// whitespace round the prefix (not significant: a header arrives trimmed); a hex digit in
/// the other case; in base64, the URL-safe alphabet's `-` or `_` for `+` or `/` (or back), or
/// the final `=` dropped (whitespace there is trimmed, and unpadded base64 is read too).
fn respelling(c: &WebhookConfig, header: &str, changed: &str, i: usize) -> bool {
    let char_at = |s: &str| {
        s.char_indices()
            .find(|(at, ch)| (*at..at + ch.len_utf8()).contains(&i))
            .map_or('\0', |(_, ch)| ch)
    };
    let (old, new) = (char_at(header), char_at(changed));
    let p = &c.signature_prefix;
    if i < p.len() {
        let round_the_prefix = i < p.len() - p.trim_start().len() || i >= p.trim_end().len();
        return round_the_prefix && old.is_whitespace() && new.is_whitespace();
    }
    match c.signature_encoding {
        SignatureEncoding::Hex => old.is_ascii_alphabetic() && old.eq_ignore_ascii_case(&new),
        SignatureEncoding::Base64 => {
            matches!(
                (old, new),
                ('+', '-') | ('/', '_') | ('-', '+') | ('_', '/')
            ) || (old == '=' && i + 1 == header.len() && new.is_whitespace())
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any configuration (even one `check` refuses), header and body: an answer, no panic.
    #[test]
    fn arbitrary_requests_never_panic(
        prefix in any::<String>(),
        encoding in encoding(),
        pointers in prop::collection::vec(pointer(), 5),
        header in prop::option::of(any::<String>()),
        body in prop_oneof![
            any::<Vec<u8>>(),
            json().prop_map(|v| v.to_string().into_bytes()),
        ],
        secrets in prop::collection::vec(any::<String>(), 0..3),
        received in any::<i64>(),
    ) {
        let mut c = config_with(prefix, encoding);
        c.id_pointer = pointers[0].clone();
        c.type_pointer = pointers[1].clone();
        c.time_pointer = Some(pointers[2].clone());
        c.email_pointer = pointers[3].clone();
        c.name_pointer = Some(pointers[4].clone());
        let secrets: Vec<Secret> = secrets.into_iter().map(Secret::new).collect();
        let _ = verify(&c, header.as_deref(), &body, &secrets);
        if let Ok(inc) = parse(&c, &body, received) {
            prop_assert!(!inc.event_id.is_empty() && inc.event_id.len() <= 255);
            prop_assert!(!inc.event_type.is_empty() && inc.event_type.len() <= 255);
            prop_assert!(inc.data.fields.is_empty());
        }
    }

    /// What `sign` writes verifies, with any prefix `check` accepts, in either encoding, with
    /// or without the whitespace HTTP allows round the value.
    #[test]
    fn own_signatures_verify(
        (c, secret) in signing(),
        body in any::<Vec<u8>>(),
        ows in "[ \t]{0,2}",
    ) {
        let header = format!("{ows}{}{ows}", sign(&c, &secret, &body));
        prop_assert_eq!(verify(&c, Some(&header), &body, std::slice::from_ref(&secret)), Ok(()));
        prop_assert_eq!(
            verify(&c, Some(header.trim()), &body, &[Secret::new("another"), secret]),
            Ok(())
        );
    }

    /// Any one-byte change to the body makes the signature fail.
    #[test]
    fn any_one_byte_change_to_the_body_fails(
        (c, secret) in signing(),
        body in prop::collection::vec(any::<u8>(), 1..512),
        at in any::<Index>(),
        bump in 1..=255u8,
    ) {
        let header = sign(&c, &secret, &body);
        let changed = byte_change(&body, at, bump);
        prop_assert_eq!(
            verify(&c, Some(&header), &changed, std::slice::from_ref(&secret)),
            Err(SignatureError::Mismatch)
        );
    }

    /// Any one-byte change to the header makes it fail, unless it is another spelling of the
    /// same signature (see `respelling`).
    #[test]
    fn a_one_byte_change_to_the_header_fails_unless_it_spells_the_same_signature(
        (c, secret) in signing(),
        body in any::<Vec<u8>>(),
        at in any::<Index>(),
        bump in 1..=255u8,
    ) {
        let header = sign(&c, &secret, &body);
        let i = at.index(header.len());
        let changed = byte_change(header.as_bytes(), at, bump);
        let Ok(changed) = String::from_utf8(changed) else {
            return Ok(()); // Not text: it cannot be a header value.
        };
        let got = verify(&c, Some(&changed), &body, std::slice::from_ref(&secret));
        prop_assert!(
            got.is_err() || respelling(&c, &header, &changed, i),
            "{header:?} → {changed:?} verified"
        );
    }

    /// Values placed anywhere in a document are found by RFC 6901 pointers (with `~0` and
    /// `~1` escapes and array indexes), and only the id, type, time, email and name are kept.
    #[test]
    fn pointers_find_what_is_placed_there_and_nothing_else_is_kept(
        (id, want_id) in token_value(),
        (ty, want_ty) in token_value(),
        (at_id, at_ty, at_time, at_email, at_name) in (path(), path(), path(), path(), path()),
        (time, want_time) in time(),
        email in prop_oneof!["[a-zA-Z0-9.]{1,8}@[a-z]{1,8}\\.(com|net)", any::<String>()],
        name in prop::option::of(any::<String>()),
        noise in json(),
    ) {
        let (id_doc, id_ptr) = place(&at_id, id);
        let (ty_doc, ty_ptr) = place(&at_ty, ty);
        let (time_doc, time_ptr) = place(&at_time, time);
        let (email_doc, email_ptr) = place(&at_email, Value::from(email.as_str()));
        let (name_doc, name_ptr) = place(&at_name, name.clone().map_or(Value::Null, Value::from));
        let body = json!({
            "i": id_doc, "t": ty_doc, "w": time_doc, "e": email_doc, "n": name_doc, "x": noise,
        });
        let mut c = config_with(String::new(), SignatureEncoding::Hex);
        c.id_pointer = format!("/i{id_ptr}");
        c.type_pointer = format!("/t{ty_ptr}");
        c.time_pointer = Some(format!("/w{time_ptr}"));
        c.email_pointer = format!("/e{email_ptr}");
        c.name_pointer = Some(format!("/n{name_ptr}"));

        let got = parse(&c, body.to_string().as_bytes(), RECEIVED);
        let (Some(want_id), Some(want_ty)) = (want_id, want_ty) else {
            prop_assert!(got.is_err());
            return Ok(());
        };
        if want_time.out_of_range() {
            prop_assert!(got.is_err());
            return Ok(());
        }
        let inc = got.map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert!(want_id.holds(&inc.event_id), "{} for {want_id:?}", inc.event_id);
        prop_assert!(want_ty.holds(&inc.event_type), "{} for {want_ty:?}", inc.event_type);
        prop_assert!(want_time.holds(inc.occurred_at), "{} for {want_time:?}", inc.occurred_at);
        let want_name = name
            .map(|n| n.trim().chars().take(200).collect::<String>())
            .filter(|n| !n.is_empty());
        let subject = SubjectData {
            email: normalise_email(&email),
            name: want_name,
            ..SubjectData::default()
        };
        let observed = inc.data.observed.clone();
        let known = [
            "email", "name", "phone", "shipping_address", "postal_address", "tax_id",
            "payment_card",
        ];
        prop_assert!(observed.iter().all(|o| known.contains(&o.as_str())), "{observed:?}");
        prop_assert_eq!(
            inc.data,
            Minimised {
                object: "webhook".into(),
                subject,
                observed,
                ..Minimised::default()
            }
        );
    }
}

/// The last property exhaustively for a few headers: every position, every byte.
#[test]
fn every_one_byte_change_to_a_header_fails_unless_it_spells_the_same_signature() {
    let secret = Secret::new("shared-secret-1");
    for (prefix, encoding, body) in [
        ("sha256=", SignatureEncoding::Hex, &b"{}"[..]),
        ("", SignatureEncoding::Hex, b""),
        ("sha256=", SignatureEncoding::Base64, br#"{"eventId":"e1"}"#),
        ("v1 ", SignatureEncoding::Base64, b"x"),
        ("\u{a0}sig\u{a0}", SignatureEncoding::Hex, b"x"),
        ("", SignatureEncoding::Base64, b"{}"),
    ] {
        let c = config_with(prefix.into(), encoding);
        let header = sign(&c, &secret, body);
        for i in 0..header.len() {
            for b in (0..=255u8).filter(|b| *b != header.as_bytes()[i]) {
                let mut changed = header.clone().into_bytes();
                changed[i] = b;
                let Ok(changed) = String::from_utf8(changed) else {
                    continue;
                };
                let got = verify(&c, Some(&changed), body, std::slice::from_ref(&secret));
                assert!(
                    got.is_err() || respelling(&c, &header, &changed, i),
                    "{header:?} → {changed:?} verified"
                );
            }
        }
    }
}
