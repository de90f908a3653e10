//! Property tests of the event envelope's validation and of the minimisation
//! (docs/data-minimisation.md), on arbitrary input and on the fixture corpus.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

use super::*;
use crate::props::{config, fixtures, json};

const RECEIVED: i64 = 1_763_000_000_123;

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// An id or type: valid, nearly valid, or anything.
fn token_like() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[!-~]{1,40}".prop_map(Value::from),
        "[!-~]{250,260}".prop_map(Value::from),
        "[ -~\\t]{0,12}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        json(),
    ]
}

/// Something shaped like an event, with arbitrary parts where the parser looks.
fn event_like() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        prop::sample::select(
            &[
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
                "product",
            ][..]
        )
        .prop_map(Value::from),
        json(),
    ];
    let object = (kind, json()).prop_map(|(kind, rest)| {
        let mut o = match rest {
            Value::Object(m) => m,
            other => [("status".to_owned(), other)].into_iter().collect(),
        };
        o.insert("object".into(), kind);
        Value::Object(o)
    });
    (
        token_like(),
        token_like(),
        prop_oneof![Just(json!("event")), Just(json!("v2.core.event")), json()],
        json(),
        prop_oneof![object, json()],
        json(),
        json(),
    )
        .prop_map(|(id, ty, obj, created, data_object, previous, related)| {
            json!({
                "id": id, "type": ty, "object": obj, "created": created, "livemode": true,
                "related_object": related,
                "data": {"object": data_object, "previous_attributes": previous},
            })
        })
}

/// Pointers to every object in `v`, itself included.
fn objects_in(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                objects_in(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
            out.push(at);
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                objects_in(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Card details and secrets as Stripe puts them in objects, with values that are easy to
/// look for in the output.
#[derive(Debug, Clone)]
enum Injection {
    /// A `card` object (as in `payment_method_details` or a PaymentMethod).
    Card { number: String, fingerprint: String },
    /// One member: a fingerprint, expiry, CVC, client secret or receipt / invoice URL.
    Member(&'static str, Value),
    /// An id field made an expanded object, carrying all of the above.
    Expanded { number: String, secret: String },
}

/// Values to look for: none of them may appear in what is kept. (Only the long ones: a
/// CVC's three digits may well be part of an amount; the key names are looked for instead.)
fn markers(i: &Injection) -> Vec<String> {
    let all = match i {
        Injection::Card {
            number,
            fingerprint,
        } => vec![number.clone(), fingerprint.clone()],
        Injection::Member(_, v) => v.as_str().map(str::to_owned).into_iter().collect(),
        Injection::Expanded { number, secret } => vec![number.clone(), secret.clone()],
    };
    all.into_iter().filter(|m| m.len() >= 16).collect()
}

fn injection() -> impl Strategy<Value = Injection> {
    let number = "4[0-9]{15}";
    let fingerprint = "[A-Za-z0-9]{16}";
    let secret = "(pi|seti)_[A-Za-z0-9]{24}_secret_[A-Za-z0-9]{25}";
    let url = "https://(pay|invoice)\\.stripe\\.com/(receipts|i)/[a-z0-9_]{20,40}";
    prop_oneof![
        (number, fingerprint).prop_map(|(number, fingerprint)| Injection::Card {
            number,
            fingerprint
        }),
        fingerprint.prop_map(|s| Injection::Member("fingerprint", s.into())),
        (1..=12u8).prop_map(|n| Injection::Member("exp_month", n.into())),
        (2020..2040u16).prop_map(|n| Injection::Member("exp_year", n.into())),
        "[0-9]{3,4}".prop_map(|s| Injection::Member("cvc", s.into())),
        Just(Injection::Member("cvc_check", "pass".into())),
        secret.prop_map(|s| Injection::Member("client_secret", s.into())),
        url.prop_map(|s| Injection::Member("receipt_url", s.into())),
        url.prop_map(|s| Injection::Member("hosted_invoice_url", s.into())),
        url.prop_map(|s| Injection::Member("invoice_pdf", s.into())),
        (number, secret).prop_map(|(number, secret)| Injection::Expanded { number, secret }),
    ]
}

fn card(number: &str, fingerprint: &str) -> Value {
    json!({
        "brand": "visa", "number": number, "fingerprint": fingerprint, "last4": &number[12..],
        "exp_month": 4, "exp_year": 2031, "cvc": "123", "checks": {"cvc_check": "pass"},
    })
}

/// Adds `what` to the object `into`.
fn inject(into: &mut Map<String, Value>, what: &Injection) {
    match what {
        Injection::Card {
            number,
            fingerprint,
        } => {
            into.insert("card".into(), card(number, fingerprint));
        }
        Injection::Member(k, v) => {
            into.insert((*k).into(), v.clone());
        }
        Injection::Expanded { number, secret } => {
            for k in [
                "customer",
                "payment_intent",
                "charge",
                "latest_charge",
                "payment_method",
            ] {
                if let Some(Value::String(id)) = into.get(k) {
                    let expanded = json!({
                        "id": id, "object": k, "client_secret": secret,
                        "email": "expanded@example.com", "card": card(number, "fpExpanded000000"),
                        "receipt_url": "https://pay.stripe.com/receipts/expanded",
                    });
                    into.insert(k.into(), expanded);
                }
            }
        }
    }
}

/// What is kept of an event, serialised: the text searched for what must not be there.
fn kept(inc: &Incoming) -> String {
    format!(
        "{} {} {}",
        inc.event_id,
        inc.event_type,
        serde_json::to_string(&inc.data).unwrap_or_default()
    )
}

proptest! {
    #![proptest_config(config())]

    /// Any body: an answer, no panic.
    #[test]
    fn arbitrary_bytes_never_panic(body in any::<Vec<u8>>(), received in any::<i64>()) {
        let _ = parse(&body, received);
    }

    /// Arbitrary JSON, bare or in an event's shape: an answer, no panic; what is accepted has
    /// a valid id and type.
    #[test]
    fn arbitrary_json_never_panics(
        v in prop_oneof![json(), event_like()],
        received in any::<i64>(),
    ) {
        if let Ok(inc) = parse(v.to_string().as_bytes(), received) {
            prop_assert!(is_token(&inc.event_id) && is_token(&inc.event_type));
            prop_assert!(serde_json::to_string(&inc.data).is_ok());
        }
    }

    /// An event is accepted exactly when its id and type are printable ASCII tokens of at
    /// most 255 bytes and it has an object in `data.object` or is a thin event; a refusal
    /// names the first part that is wrong.
    #[test]
    fn the_envelope_is_accepted_exactly_when_valid(v in event_like()) {
        let got = parse(v.to_string().as_bytes(), RECEIVED);
        let string = |k: &str| v.get(k).and_then(Value::as_str);
        let thin = string("object") == Some("v2.core.event");
        // A `created` that reads as a time outside the years 0001–9999 is refused.
        let created_out = if thin {
            string("created")
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .is_some_and(|t| !crate::time::in_range(t.timestamp_millis()))
        } else {
            v.get("created")
                .and_then(Value::as_i64)
                .is_some_and(|s| !crate::time::in_range(s.saturating_mul(1000)))
        };
        let want = match (string("id"), string("type")) {
            (None, _) => Err("the event has no string `id`"),
            (Some(id), _) if !is_token(id) => Err("printable ASCII"),
            (_, None) => Err("the event has no string `type`"),
            (_, Some(ty)) if !is_token(ty) => Err("printable ASCII"),
            _ if (thin || v["data"]["object"].is_object()) && created_out => Err("`created`"),
            _ if thin || v["data"]["object"].is_object() => Ok(()),
            _ => Err("`data.object`"),
        };
        match (got, want) {
            (Ok(inc), Ok(())) => {
                prop_assert_eq!(Some(inc.event_id.as_str()), string("id"));
                prop_assert_eq!(Some(inc.event_type.as_str()), string("type"));
                prop_assert_eq!(inc.thin, thin);
            }
            (Err(e), Err(part)) => prop_assert!(e.0.contains(part), "{e} should name {part}"),
            (got, want) => prop_assert!(false, "{got:?} for {want:?}"),
        }
    }

    /// A fixture event with another id parses to the same event under that id, when the id is
    /// a token; otherwise it is refused.
    #[test]
    fn a_fixture_parses_the_same_with_another_id(
        which in any::<Index>(),
        id in prop_oneof!["evt_[A-Za-z0-9]{1,40}", "[!-~]{1,255}", any::<String>()],
    ) {
        let f = &fixtures()[which.index(fixtures().len())];
        let before = parse(&f.body, RECEIVED).map_err(|e| TestCaseError::fail(e.0))?;
        let mut v = f.json.clone();
        v["id"] = Value::from(id.as_str());
        match parse(v.to_string().as_bytes(), RECEIVED) {
            Ok(after) => {
                prop_assert!(is_token(&id), "{id:?} accepted");
                prop_assert_eq!(&after.event_id, &id);
                prop_assert_eq!(after.event_type, before.event_type);
                prop_assert_eq!(after.occurred_at, before.occurred_at);
                prop_assert_eq!(after.livemode, before.livemode);
                prop_assert_eq!(after.thin, before.thin);
                prop_assert_eq!(after.data, before.data);
            }
            Err(e) => prop_assert!(!is_token(&id), "{} refused: {e}", f.file),
        }
    }

    /// Card numbers, fingerprints, expiry, CVC, client secrets and receipt or invoice URLs
    /// injected anywhere into a fixture event never reach what is kept, and what is kept does
    /// not change (but for the `payment_card` category being observed).
    #[test]
    fn card_details_and_secrets_are_never_kept(
        which in any::<Index>(),
        injections in prop::collection::vec((any::<Index>(), injection()), 1..8),
    ) {
        let f = &fixtures()[which.index(fixtures().len())];
        let before = parse(&f.body, RECEIVED).map_err(|e| TestCaseError::fail(e.0))?;
        let mut v = f.json.clone();
        let mut objects = Vec::new();
        objects_in(&v, String::new(), &mut objects);
        for (at, what) in &injections {
            if let Some(Value::Object(o)) = v.pointer_mut(&objects[at.index(objects.len())]) {
                inject(o, what);
            }
        }
        let after = parse(v.to_string().as_bytes(), RECEIVED)
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", f.file)))?;
        let text = kept(&after);
        let mut banned: Vec<String> = injections.iter().flat_map(|(_, i)| markers(i)).collect();
        banned.extend(
            [
                "fingerprint", "fpExpanded", "exp_month", "exp_year", "cvc", "last4",
                "client_secret", "_secret_", "receipt_url", "hosted_invoice_url", "invoice_pdf",
                "pay.stripe.com", "invoice.stripe.com", "expanded@example.com",
            ]
            .map(str::to_owned),
        );
        for b in &banned {
            prop_assert!(!text.contains(b.as_str()), "{b} kept from {}: {text}", f.file);
        }
        // Nothing else changes: the same fields and subject; a card may now be observed.
        let mut data = after.data.clone();
        let observed = &before.data.observed;
        prop_assert!(
            data.observed.iter().all(|o| observed.contains(o) || o == "payment_card"),
            "{observed:?} → {:?}", data.observed
        );
        data.observed = observed.clone();
        prop_assert_eq!(data, before.data);
    }
}
