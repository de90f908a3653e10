//! Stripe webhook bodies → [`Incoming`]: validation of the envelope and data minimisation.
//!
//! The allow-list (also written down in docs/data-minimisation.md): per object family, the
//! ids, amounts, currency, status and timestamps in [`fields_for`]; of the customer, only email,
//! name and address. Never card numbers, fingerprints, expiry, CVC checks, `client_secret`,
//! receipt or invoice URLs, phone numbers, metadata, descriptions. Of an update's
//! `previous_attributes`, the same allow-list: the old values of the kept fields, and of a
//! customer its old email, name and address; nothing else.

use std::borrow::Cow;

use chrono::DateTime;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::ingest::model::{normalise_email, Incoming, Minimised, SubjectData};

/// The event types to select on the Stripe webhook endpoint: everything that creates, changes
/// or deletes personal data a data subject can ask about.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "checkout.session.completed",
    "refund.created",
    "setup_intent.succeeded",
    "payment_method.attached",
    "payment_method.detached",
];

/// Why a body is not a Stripe event. Messages name fields, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(pub &'static str);

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

const MAX_ID_LEN: usize = 255;

/// Parses a webhook body: a v1 snapshot event (`id`, `type`, `data.object`) or a thin event
/// (`object: "v2.core.event"`, `id`, `type`).
pub fn parse(body: &[u8], received_at_ms: i64) -> Result<Incoming, PayloadError> {
    let root: Json =
        serde_json::from_slice(body).map_err(|_| PayloadError("the body is not JSON"))?;
    if !root.is_object() {
        return Err(PayloadError("the body is not a JSON object"));
    }
    let id = token(root.get("id"), "the event has no string `id`")?;
    let event_type = token(root.get("type"), "the event has no string `type`")?;
    let livemode = root.get("livemode").and_then(Json::as_bool);

    if root.get("object").and_then(Json::as_str) == Some("v2.core.event") {
        let occurred_at = root
            .get("created")
            .and_then(Json::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp_millis())
            .unwrap_or(received_at_ms);
        if !crate::time::in_range(occurred_at) {
            return Err(PayloadError(
                "the event's `created` is not a time in the years 0001–9999",
            ));
        }
        let mut fields = Map::new();
        if let Some(r) = root.get("related_object") {
            for k in ["id", "type", "url"] {
                if let Some(s) = r.get(k).and_then(Json::as_str) {
                    fields.insert(format!("related_object_{k}"), Value::from(s));
                }
            }
        }
        return Ok(Incoming {
            event_id: id,
            event_type,
            occurred_at,
            livemode,
            thin: true,
            data: Minimised {
                object: "v2.core.event".into(),
                fields,
                ..Minimised::default()
            },
        });
    }

    let data = root.get("data");
    let object = data
        .and_then(|d| d.get("object"))
        .filter(|o| o.is_object())
        .ok_or(PayloadError(
            "the event has no `data.object` and is not a thin event (`object: \"v2.core.event\"`)",
        ))?;
    let occurred_at = match root.get("created").and_then(Json::as_i64) {
        None => received_at_ms,
        Some(s) if crate::time::in_range(s.saturating_mul(1000)) => s * 1000,
        Some(_) => {
            return Err(PayloadError(
                "the event's `created` is not a time in the years 0001–9999",
            ))
        }
    };
    let previous = data
        .and_then(|d| d.get("previous_attributes"))
        .filter(|p| p.is_object());
    Ok(Incoming {
        event_id: id,
        event_type,
        occurred_at,
        livemode,
        thin: false,
        data: minimise(object, previous),
    })
}

/// A JSON value parsed in one pass without copying its strings: they borrow from the body
/// (unless escaped). Most of a webhook body is card details, URLs and metadata that are never
/// kept; building a `serde_json::Value` of it allocated every key and string, a tenth of the
/// receiver's CPU (docs/benchmarks.md).
enum Json<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    /// The member `key`; the last one if the key repeats (as a JSON map keeps it).
    fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Json::Object(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// A string, number or boolean as a `serde_json::Value`; `None` for the rest.
    fn scalar(&self) -> Option<Value> {
        match self {
            Json::Bool(b) => Some(Value::Bool(*b)),
            Json::Number(n) => Some(Value::Number(n.clone())),
            Json::Str(s) => Some(Value::String(s.to_string())),
            Json::Null | Json::Array(_) | Json::Object(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Any)
    }
}

/// Builds a [`Json`] from whatever the deserializer finds.
struct Any;

impl<'de> Visitor<'de> for Any {
    type Value = Json<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Json<'de>, S::Error> {
        let mut items = Vec::new();
        while let Some(v) = s.next_element()? {
            items.push(v);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Json<'de>, M::Error> {
        let mut members = Vec::new();
        while let Some((Key(k), v)) = m.next_entry::<Key, Json>()? {
            members.push((k, v));
        }
        Ok(Json::Object(members))
    }
}

/// A member name, borrowed from the body unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_str(Any)? {
            Json::Str(s) => Ok(Key(s)),
            _ => Err(serde::de::Error::custom("a member name is not a string")),
        }
    }
}

fn token(v: Option<&Json>, missing: &'static str) -> Result<String, PayloadError> {
    let s = v.and_then(Json::as_str).ok_or(PayloadError(missing))?;
    let ok = !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(PayloadError(
            "the event's `id` or `type` is empty, too long or not printable ASCII",
        ));
    }
    Ok(s.to_owned())
}

/// The non-personal fields kept per object family: (path in the object, name kept).
fn fields_for(kind: &str) -> &'static [&'static str] {
    match kind {
        "customer" => &["id", "created", "currency", "delinquent", "deleted"],
        "charge" => &[
            "id",
            "created",
            "amount",
            "amount_captured",
            "amount_refunded",
            "currency",
            "status",
            "paid",
            "captured",
            "refunded",
            "disputed",
            "customer",
            "payment_intent",
            "balance_transaction",
            "failure_code",
            "outcome.type",
        ],
        "payment_intent" => &[
            "id",
            "created",
            "amount",
            "amount_received",
            "currency",
            "status",
            "customer",
            "latest_charge",
            "canceled_at",
            "last_payment_error.code",
            "last_payment_error.decline_code",
        ],
        "invoice" => &[
            "id",
            "created",
            "number",
            "status",
            "billing_reason",
            "currency",
            "total",
            "amount_due",
            "amount_paid",
            "amount_remaining",
            "customer",
            "due_date",
            "period_start",
            "period_end",
            "parent.subscription_details.subscription",
        ],
        "subscription" => &[
            "id",
            "created",
            "status",
            "currency",
            "customer",
            "start_date",
            "cancel_at",
            "cancel_at_period_end",
            "canceled_at",
            "ended_at",
            "latest_invoice",
        ],
        "checkout.session" => &[
            "id",
            "created",
            "status",
            "payment_status",
            "mode",
            "currency",
            "amount_subtotal",
            "amount_total",
            "customer",
            "payment_intent",
            "subscription",
            "invoice",
        ],
        "refund" | "dispute" => &[
            "id",
            "created",
            "amount",
            "currency",
            "status",
            "reason",
            "charge",
            "payment_intent",
        ],
        "setup_intent" => &[
            "id",
            "created",
            "status",
            "usage",
            "customer",
            "payment_method",
        ],
        "payment_method" => &["id", "created", "type", "customer"],
        _ => &["id", "created", "status", "amount", "currency", "customer"],
    }
}

/// Where each family carries the customer's email, name and address, in order of preference.
const EMAIL_PATHS: &[&str] = &[
    "email",
    "customer_email",
    "customer_details.email",
    "billing_details.email",
    "receipt_email",
];
const NAME_PATHS: &[&str] = &[
    "name",
    "customer_name",
    "customer_details.name",
    "billing_details.name",
];
const ADDRESS_PATHS: &[&str] = &[
    "address",
    "customer_address",
    "customer_details.address",
    "billing_details.address",
];

fn get<'j, 'a>(obj: &'j Json<'a>, path: &str) -> Option<&'j Json<'a>> {
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    (!matches!(cur, Json::Null)).then_some(cur)
}

/// An id field may be a string or an expanded object: keep only the id.
fn as_id(v: &Json) -> Option<String> {
    match v {
        Json::Str(s) => Some(s.to_string()),
        Json::Object(_) => v.get("id").and_then(Json::as_str).map(str::to_owned),
        _ => None,
    }
}

/// The allow-listed fields of `kind` found in `obj` (an object, or an update's
/// `previous_attributes`): scalars, and of an expanded object only its id.
fn kept_fields(obj: &Json, kind: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    for path in fields_for(kind) {
        let Some(v) = get(obj, path) else { continue };
        let name = path.rsplit('.').next().unwrap_or(path);
        let kept = match v {
            Json::Object(_) => as_id(v).map(Value::from),
            other => other.scalar(),
        };
        if let Some(k) = kept {
            fields.insert(name.to_owned(), k);
        }
    }
    fields
}

fn minimise(obj: &Json, previous: Option<&Json>) -> Minimised {
    let kind = obj
        .get("object")
        .and_then(Json::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let fields = kept_fields(obj, &kind);
    // `id` and `created` never change; a `previous_attributes` naming them is not Stripe's.
    let mut previous_fields = previous.map(|p| kept_fields(p, &kind)).unwrap_or_default();
    previous_fields.remove("id");
    previous_fields.remove("created");
    let object_id = obj.get("id").and_then(Json::as_str).map(str::to_owned);
    let is_profile = kind == "customer";
    let customer_ref = if is_profile {
        object_id.clone()
    } else {
        obj.get("customer").and_then(as_id)
    };
    let related = ["charge", "payment_intent"]
        .iter()
        .filter(|_| matches!(kind.as_str(), "refund" | "dispute"))
        .filter_map(|k| obj.get(k).and_then(as_id))
        .collect();

    let first_str = |paths: &[&str]| {
        paths
            .iter()
            .filter_map(|p| get(obj, p).and_then(Json::as_str))
            .find(|s| !s.trim().is_empty())
    };
    let subject = SubjectData {
        email: first_str(EMAIL_PATHS).and_then(normalise_email),
        name: first_str(NAME_PATHS).map(|n| n.trim().to_owned()),
        address: ADDRESS_PATHS
            .iter()
            .filter_map(|p| get(obj, p))
            .find(|a| a.is_object())
            .map(keep_address),
        previous_email: previous
            .filter(|_| is_profile)
            .and_then(|p| p.get("email"))
            .and_then(Json::as_str)
            .and_then(normalise_email),
        previous_name: previous
            .filter(|_| is_profile)
            .and_then(|p| p.get("name"))
            .and_then(Json::as_str)
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty()),
        previous_address: previous
            .filter(|_| is_profile)
            .and_then(|p| p.get("address"))
            .filter(|a| a.is_object())
            .map(keep_address),
        is_profile,
        deleted: is_profile && obj.get("deleted").and_then(Json::as_bool) == Some(true),
    };
    Minimised {
        object: kind,
        object_id,
        customer_ref,
        related,
        fields,
        previous: previous_fields,
        subject,
        observed: observed_categories(obj),
    }
}

fn keep_address(a: &Json) -> Value {
    let mut out = Map::new();
    for k in ["line1", "line2", "city", "postal_code", "state", "country"] {
        if let Some(v) = a.get(k).and_then(Json::as_str) {
            out.insert(k.into(), Value::from(v));
        }
    }
    Value::Object(out)
}

/// Categories of personal data present in the object as received, for the RoPA's
/// observed-vs-declared comparison. Names only: the values are not kept.
fn observed_categories(obj: &Json) -> Vec<String> {
    let present = |paths: &[&str]| paths.iter().any(|p| get(obj, p).is_some_and(non_empty));
    let mut out = Vec::new();
    let mut add = |cond: bool, name: &str| {
        if cond {
            out.push(name.to_owned());
        }
    };
    add(present(EMAIL_PATHS), "email");
    add(present(NAME_PATHS), "name");
    add(present(ADDRESS_PATHS), "postal_address");
    add(
        present(&[
            "phone",
            "customer_phone",
            "customer_details.phone",
            "billing_details.phone",
        ]),
        "phone",
    );
    add(
        present(&[
            "shipping",
            "shipping_details",
            "customer_shipping",
            "collected_information.shipping_details",
        ]),
        "shipping_address",
    );
    add(
        present(&[
            "payment_method_details.card",
            "card",
            "last_payment_error.payment_method",
        ]),
        "payment_card",
    );
    add(
        present(&["tax_ids", "customer_tax_ids", "customer_details.tax_ids"]),
        "tax_id",
    );
    out
}

fn non_empty(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Str(s) => !s.trim().is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => m.iter().any(|(_, v)| non_empty(v)),
        _ => true,
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(object: Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": "evt_1", "object": "event", "type": "charge.succeeded", "created": 1762799043,
            "livemode": false, "data": {"object": object}
        }))
        .unwrap()
    }

    #[test]
    fn a_charge_keeps_facts_and_drops_card_and_urls() {
        let body = ev(serde_json::json!({
            "id": "ch_1", "object": "charge", "amount": 4500, "currency": "usd",
            "status": "succeeded", "customer": "cus_1", "receipt_url": "https://pay.stripe.com/r/x",
            "receipt_email": "Alice@Example.com",
            "billing_details": {"email": null, "name": "Alice", "phone": "+14155550132",
                                "address": {"city": "SF", "country": "US"}},
            "payment_method_details": {"card": {"fingerprint": "fp", "exp_month": 4,
                                       "exp_year": 2028, "last4": "4242",
                                       "checks": {"cvc_check": "pass"}}},
            "metadata": {"order": "x"}, "description": "Art print"
        }));
        let inc = parse(&body, 0).unwrap();
        assert_eq!(inc.occurred_at, 1_762_799_043_000);
        let d = &inc.data;
        assert_eq!(d.customer_ref.as_deref(), Some("cus_1"));
        assert_eq!(d.fields["amount"], 4500);
        assert_eq!(d.subject.email.as_deref(), Some("alice@example.com"));
        assert_eq!(d.subject.name.as_deref(), Some("Alice"));
        assert_eq!(
            d.observed,
            ["email", "name", "postal_address", "phone", "payment_card"]
        );
        let stored = serde_json::to_string(d).unwrap();
        for banned in [
            "fingerprint",
            "exp_",
            "4242",
            "cvc",
            "receipt_url",
            "pay.stripe.com",
            "+1415",
            "Art print",
            "order",
        ] {
            assert!(!stored.contains(banned), "{banned} leaked into {stored}");
        }
    }

    fn update(ty: &str, object: Value, previous: Value) -> Minimised {
        let body = serde_json::to_vec(&serde_json::json!({
            "id": "evt_u", "object": "event", "type": ty, "created": 1762799043,
            "data": {"object": object, "previous_attributes": previous}
        }))
        .unwrap();
        parse(&body, 0).unwrap().data
    }

    /// Of `previous_attributes` only the allow-listed fields are kept: the old values of the
    /// kept business facts, and of a customer its old email, name and address fields.
    #[test]
    fn previous_attributes_keep_only_the_allow_list() {
        let customer = update(
            "customer.updated",
            serde_json::json!({
                "id": "cus_1", "object": "customer", "email": "new@example.com", "name": "Ada",
                "currency": "eur", "address": {"city": "Leeds", "country": "GB"}
            }),
            serde_json::json!({
                "email": "Old@Example.com", "name": " Ada L. ", "currency": "usd",
                "delinquent": true, "id": "cus_other", "created": 1,
                "address": {"city": "York", "line1": "1 Old St", "country": "GB",
                            "geo": "53.9,-1.08"},
                "phone": "+447700900123", "metadata": {"vip": "yes"},
                "description": "Loyal customer", "invoice_settings": {"footer": "thanks"},
                "default_source": {"id": "card_1", "object": "card", "last4": "4242",
                                   "fingerprint": "fpPrev", "exp_month": 4},
                "shipping": {"name": "Ada", "address": {"city": "Hull"}},
                "tax_ids": {"data": [{"value": "GB123"}]},
                "invoice_prefix": "ABC", "preferred_locales": ["en"]
            }),
        );
        assert_eq!(
            Value::Object(customer.previous.clone()),
            serde_json::json!({"currency": "usd", "delinquent": true})
        );
        let s = &customer.subject;
        assert_eq!(s.previous_email.as_deref(), Some("old@example.com"));
        assert_eq!(s.previous_name.as_deref(), Some("Ada L."));
        assert_eq!(
            s.previous_address,
            Some(serde_json::json!({"city": "York", "line1": "1 Old St", "country": "GB"}))
        );

        let charge = update(
            "charge.refunded",
            serde_json::json!({"id": "ch_1", "object": "charge", "amount": 4500,
                               "amount_refunded": 4500, "refunded": true, "currency": "usd"}),
            serde_json::json!({
                "amount_refunded": 0, "refunded": false, "outcome": {"type": "authorized",
                "risk_score": 12}, "customer": {"id": "cus_9", "email": "x@example.com"},
                "receipt_url": "https://pay.stripe.com/receipts/x", "receipt_email": "a@example.com",
                "billing_details": {"name": "Someone", "email": "b@example.com"},
                "payment_method_details": {"card": {"fingerprint": "fpPrev", "last4": "4242"}},
                "client_secret": "pi_1_secret_x", "metadata": {"order": "7"}, "name": "Zed"
            }),
        );
        assert_eq!(
            Value::Object(charge.previous.clone()),
            serde_json::json!({"amount_refunded": 0, "refunded": false, "type": "authorized",
                               "customer": "cus_9"})
        );
        // A payment's previous attributes never change the subject's data.
        assert_eq!(charge.subject, SubjectData::default());

        for d in [&customer, &charge] {
            let stored = serde_json::to_string(d).unwrap();
            for banned in [
                "fpPrev",
                "4242",
                "card_1",
                "exp_",
                "receipt",
                "pay.stripe.com",
                "secret",
                "order",
                "Someone",
                "b@example.com",
                "x@example.com",
                "risk",
                "Zed",
                "+4477",
                "vip",
                "Loyal",
                "footer",
                "Hull",
                "shipping",
                "GB123",
                "geo",
                "53.9",
                "ABC",
                "locales",
                "cus_other",
            ] {
                assert!(!stored.contains(banned), "{banned} leaked into {stored}");
            }
        }
    }

    #[test]
    fn an_expanded_customer_keeps_only_its_id() {
        let body = ev(serde_json::json!({
            "id": "pi_1", "object": "payment_intent", "client_secret": "pi_1_secret_x",
            "customer": {"id": "cus_9", "object": "customer", "email": "x@example.com"}
        }));
        let d = parse(&body, 0).unwrap().data;
        assert_eq!(d.customer_ref.as_deref(), Some("cus_9"));
        assert_eq!(d.fields["customer"], "cus_9");
        assert!(!serde_json::to_string(&d).unwrap().contains("secret"));
    }

    #[test]
    fn the_envelope_is_validated() {
        let cases: [(&[u8], &str); 6] = [
            (b"not json", "not JSON"),
            (b"[1]", "not a JSON object"),
            (br#"{"type":"x","data":{"object":{}}}"#, "`id`"),
            (br#"{"id":"evt_1","data":{"object":{}}}"#, "`type`"),
            (br#"{"id":"evt_1","type":"x"}"#, "data.object"),
            (
                br#"{"id":"evt 1","type":"x","data":{"object":{}}}"#,
                "printable",
            ),
        ];
        for (body, want) in cases {
            let e = parse(body, 0).unwrap_err();
            assert!(e.0.contains(want), "{e} should mention {want}");
        }
    }

    /// The body is read without copying strings; JSON's corners still read as JSON says:
    /// escaped names and strings are decoded, a repeated member counts once (the last).
    #[test]
    fn escapes_and_repeated_members_read_as_json_says() {
        let body = br#"{"\u0069d":"evt_1","type":"x","type":"customer.updated","data":{"object":
            {"object":"customer","id":"cus_1","email":"a@example.com","email":"B\u0040Example.com",
             "name":"Ren\u00e9e \"R\"","deleted":null}}}"#;
        let inc = parse(body, 0).unwrap();
        assert_eq!(
            (inc.event_id.as_str(), inc.event_type.as_str()),
            ("evt_1", "customer.updated")
        );
        let s = &inc.data.subject;
        assert_eq!(s.email.as_deref(), Some("b@example.com"));
        assert_eq!(s.name.as_deref(), Some("Renée \"R\""));
        assert!(!s.deleted);
    }

    #[test]
    fn a_thin_event_is_recognised() {
        let body = br#"{"id":"evt_test_1","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered",
            "created":"2026-01-14T06:20:52.246Z","related_object":{"id":"mtr_1","type":"billing.meter","url":"/v1/billing/meters/mtr_1"}}"#;
        let inc = parse(body, 0).unwrap();
        assert!(inc.thin);
        assert_eq!(inc.occurred_at, 1_768_371_652_246);
        assert_eq!(
            inc.data.fields["related_object_url"],
            "/v1/billing/meters/mtr_1"
        );
    }
}
