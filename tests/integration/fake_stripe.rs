//! A fake Stripe API on loopback for the integration tests and the catch-up benchmark. It
//! speaks enough of Stripe: bearer keys (401), restricted-key permissions (403 naming the
//! `rak_…` permission), `Stripe-Version`, form bodies, list pagination (`limit`,
//! `starting_after`, `has_more`, `created[gte]`, `types[]`), 404 `resource_missing`, injected
//! 429/5xx, idempotency keys (a repeated key replays the first answer), and redaction jobs
//! (`/v1/privacy/redaction_jobs`: validation on the next look, validation errors for the ids in
//! `redaction_invalid`, validate again, run, succeeded on the next look).
//!
//! Used by `tests/integration`, `tests/e2e` and `src-tauri/benches/catchup.rs` (through
//! `#[path]`), so it depends only on std, serde_json, tokio, hyper, hyper-util and
//! http-body-util. It serves HTTP/1.1 from its own tokio runtime, for callers that block (not
//! from inside another runtime: dropping it waits for its workers).

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

pub const VERSION: &str = "2025-10-29.clover";
pub const KEY: &str = "rk_test_fakestripe0123456789";

/// One request the fake answered.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub params: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub status: u16,
}

impl Req {
    pub fn param(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct State {
    /// Keys accepted (others get 401).
    pub keys: HashSet<String>,
    /// `rak_…` permissions the key lacks.
    pub denied: HashSet<String>,
    /// Events, any order (sorted newest first when listed).
    pub events: Vec<Value>,
    /// Objects per list resource (`customers`, `charges`, …), newest first.
    pub objects: HashMap<String, Vec<Value>>,
    /// Thin events served at /v2/core/events/{id}.
    pub v2_events: HashMap<String, Value>,
    pub endpoints: Vec<Value>,
    /// Answers replayed for a repeated idempotency key.
    idem: HashMap<String, (String, String, u16, String)>,
    /// Statuses to answer the next requests with, before looking at them.
    pub fail_next: VecDeque<u16>,
    /// After this many successful list pages of this resource, every page fails with 500.
    pub fail_list_after: Option<(String, usize)>,
    pub list_pages_served: HashMap<String, usize>,
    /// The next webhook-endpoint create succeeds but answers 500 (a lost answer).
    pub lose_next_create_answer: bool,
    /// The next created webhook endpoint comes back without its `secret`.
    pub omit_next_secret: bool,
    pub requests: Vec<Req>,
    /// Redaction jobs as created (`objects` as sent).
    pub redaction_jobs: Vec<Value>,
    /// The account has no redaction jobs (the preview is off): their paths answer 404.
    pub redaction_disabled: bool,
    /// Object ids a redaction job cannot take yet, with the validation error code.
    pub redaction_invalid: HashMap<String, String>,
    /// Lists ignore `customer=` and `email=` (a broken or hostile answer): every object comes back.
    pub ignore_customer_filter: bool,
    /// Object ids redacted by a job that ran.
    pub redacted: Vec<String>,
    next_id: u64,
}

pub struct FakeStripe {
    pub base: String,
    pub state: Arc<Mutex<State>>,
    /// Runs the accept loop and the connections; `None` once dropped.
    runtime: Option<Runtime>,
}

impl FakeStripe {
    pub fn start() -> FakeStripe {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-stripe")
            .enable_all()
            .build()
            .expect("fake stripe runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind fake stripe");
        let base = format!(
            "http://{}",
            listener.local_addr().expect("fake stripe address")
        );
        let mut st = State::default();
        st.keys.insert(KEY.to_owned());
        let state = Arc::new(Mutex::new(st));
        runtime.spawn(accept_loop(listener, state.clone()));
        FakeStripe {
            base,
            state,
            runtime: Some(runtime),
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn requests(&self) -> Vec<Req> {
        self.with(|s| s.requests.clone())
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        // The workers drop every task before they exit, the accept loop's listener and the open
        // connections with them, so the port is free once this returns.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// Accepts connections until the runtime shuts down, each served on its own task.
async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors, say: try again shortly rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| serve(state.clone(), req));
            // A client that breaks off ends only its own connection.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One request: its body read in full, then answered by [`handle`].
async fn serve(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    // A body cut short or not UTF-8 reads as empty.
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8(body.to_vec()).unwrap_or_default();
    let (status, text) = handle(
        &state,
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &parts.headers,
        &body,
    );
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if status == 429 {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("0"));
    }
    Ok(resp)
}

/// A customer with an email, created at `created` (unix seconds).
pub fn customer(i: usize, created: i64) -> Value {
    json!({
        "id": format!("cus_fake{i:06}"),
        "object": "customer",
        "created": created,
        "email": format!("person{i}@example.com"),
        "name": format!("Person {i}"),
        "livemode": false,
        "phone": "+15555550100",
        "metadata": {},
    })
}

/// A `customer.created` event.
pub fn customer_event(i: usize, created: i64) -> Value {
    json!({
        "id": format!("evt_fake{i:07}"),
        "object": "event",
        "api_version": VERSION,
        "type": "customer.created",
        "created": created,
        "livemode": false,
        "data": {"object": customer(i, created)},
    })
}

/// A `payment_intent.succeeded` event naming customer `cus` (no email in it).
pub fn payment_event(i: usize, created: i64, cus: &str) -> Value {
    json!({
        "id": format!("evt_pay{i:07}"),
        "object": "event",
        "api_version": VERSION,
        "type": "payment_intent.succeeded",
        "created": created,
        "livemode": false,
        "data": {"object": {
            "id": format!("pi_fake{i:07}"), "object": "payment_intent", "created": created,
            "amount": 1000 + i, "currency": "eur", "status": "succeeded", "customer": cus,
        }},
    })
}

fn error(
    status: u16,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> (u16, Value) {
    (
        status,
        json!({"error": {"type": kind, "code": code, "message": message, "param": param}}),
    )
}

fn parse_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(h, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn rak(resource: &str) -> &str {
    match resource {
        "customers" => "customer",
        "charges" => "charge",
        "payment_intents" => "payment_intent",
        "invoices" => "invoice",
        "subscriptions" => "subscription",
        "events" => "event",
        "webhook_endpoints" => "webhook",
        _ => "unknown",
    }
}

/// Answers one request read off the wire (status and JSON text) and records it: [`route`]
/// answers, this adds idempotency replays and the lost create answer.
fn handle(
    state: &Mutex<State>,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &str,
) -> (u16, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let auth = header("Authorization");
    let version = header("Stripe-Version");
    let idem = header("Idempotency-Key");
    let mut params = parse_pairs(query);
    params.extend(parse_pairs(body));

    let mut st = state.lock().unwrap();
    // As Stripe: a key replays its first answer, and is refused for another method or path.
    let replay = match (&idem, method) {
        (Some(k), "POST" | "DELETE") => st.idem.get(k).map(|(m, pth, s, t)| {
            if m == method && pth == path {
                (*s, t.clone())
            } else {
                (
                    400,
                    json!({"error": {"type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used for the same endpoint"}})
                    .to_string(),
                )
            }
        }),
        _ => None,
    };
    let (status, text) = match replay {
        Some(r) => r,
        None => {
            let (s, v) = route(
                &mut st,
                method,
                path,
                &params,
                auth.as_deref(),
                version.as_deref(),
            );
            let text = v.to_string();
            if let (Some(k), true) = (&idem, method != "GET" && s != 429 && s < 500) {
                st.idem.insert(
                    k.clone(),
                    (method.to_owned(), path.to_owned(), s, text.clone()),
                );
            }
            // A lost answer: the create happened (and is replayed for its key), but the
            // client sees a 500.
            if method == "POST"
                && path == "/v1/webhook_endpoints"
                && s == 200
                && st.lose_next_create_answer
            {
                st.lose_next_create_answer = false;
                (
                    500,
                    error(500, "api_error", None, "lost", None).1.to_string(),
                )
            } else {
                (s, text)
            }
        }
    };
    st.requests.push(Req {
        method: method.to_owned(),
        path: path.to_owned(),
        params,
        idempotency_key: idem,
        status,
    });
    (status, text)
}

fn route(
    st: &mut State,
    method: &str,
    path: &str,
    params: &[(String, String)],
    auth: Option<&str>,
    version: Option<&str>,
) -> (u16, Value) {
    if let Some(s) = st.fail_next.pop_front() {
        return match s {
            429 => error(
                429,
                "invalid_request_error",
                Some("rate_limit"),
                "Too many requests",
                None,
            ),
            // A refusal names Stripe's code and the parameter at fault, as Stripe does.
            400 => error(
                400,
                "invalid_request_error",
                Some("parameter_unknown"),
                "Received unknown parameter: enabled_events[0]",
                Some("enabled_events[0]"),
            ),
            s => error(s, "api_error", None, "Something went wrong", None),
        };
    }
    let key = auth.and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
    if !st.keys.contains(key) {
        return error(
            401,
            "invalid_request_error",
            None,
            &format!("Invalid API Key provided: {key}"),
            None,
        );
    }
    if version != Some(VERSION) {
        return error(
            400,
            "invalid_request_error",
            Some("invalid_version"),
            "bad Stripe-Version",
            None,
        );
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let p = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let deny = |st: &State, resource: &str, write: bool| {
        let perm = format!(
            "rak_{}_{}",
            rak(resource),
            if write { "write" } else { "read" }
        );
        st.denied.contains(&perm).then(|| {
            error(
                403,
                "invalid_request_error",
                None,
                &format!(
                    "The provided key '{key}' does not have the required permissions for this endpoint on account 'acct_fake'. Having the '{perm}' permission would allow this request to continue."
                ),
                None,
            )
        })
    };
    if let ["v1", "privacy", "redaction_jobs", rest @ ..] = segs.as_slice() {
        if st.redaction_disabled {
            return error(
                404,
                "invalid_request_error",
                None,
                "Unrecognized request URL",
                None,
            );
        }
        return redaction(st, method, rest, params);
    }
    match (method, segs.as_slice()) {
        ("GET", ["v2", "core", "events", id]) => {
            if let Some(d) = deny(st, "events", false) {
                return d;
            }
            match st.v2_events.get(*id) {
                Some(v) => (200, v.clone()),
                None => missing("id"),
            }
        }
        ("GET", ["v1", resource]) => {
            if let Some(d) = deny(st, resource, false) {
                return d;
            }
            if let Some((r, ok)) = &st.fail_list_after {
                if r == resource && st.list_pages_served.get(*resource).copied().unwrap_or(0) >= *ok
                {
                    return error(500, "api_error", None, "Something went wrong", None);
                }
            }
            // References, not copies: only the page served is cloned.
            let empty = Vec::new();
            let all: Vec<&Value> = if *resource == "events" {
                let gte: i64 = p("created[gte]").and_then(|s| s.parse().ok()).unwrap_or(0);
                let types: Vec<String> = params
                    .iter()
                    .filter(|(k, _)| k == "types[]")
                    .map(|(_, v)| v.clone())
                    .collect();
                let mut evs: Vec<&Value> = st
                    .events
                    .iter()
                    .filter(|e| e["created"].as_i64().unwrap_or(0) >= gte)
                    .filter(|e| types.is_empty() || types.iter().any(|t| e["type"] == t.as_str()))
                    .collect();
                evs.sort_by(|a, b| {
                    b["created"]
                        .as_i64()
                        .cmp(&a["created"].as_i64())
                        .then(b["id"].as_str().cmp(&a["id"].as_str()))
                });
                evs
            } else if *resource == "webhook_endpoints" {
                st.endpoints.iter().collect()
            } else {
                // `customer=` and `status=` (other than `all`) filter, as Stripe's lists do.
                let cus = p("customer").filter(|_| !st.ignore_customer_filter);
                let status = p("status").filter(|s| s != "all");
                let email = p("email").filter(|_| !st.ignore_customer_filter);
                st.objects
                    .get(*resource)
                    .unwrap_or(&empty)
                    .iter()
                    .filter(|o| cus.as_deref().is_none_or(|c| o["customer"] == c))
                    .filter(|o| status.as_deref().is_none_or(|s| o["status"] == s))
                    .filter(|o| email.as_deref().is_none_or(|e| o["email"] == e))
                    .collect()
            };
            let limit: usize = p("limit")
                .and_then(|s| s.parse().ok())
                .unwrap_or(10)
                .clamp(1, 100);
            let start = match p("starting_after") {
                Some(after) => match all.iter().position(|o| o["id"] == after.as_str()) {
                    Some(i) => i + 1,
                    None => return missing("starting_after"),
                },
                None => 0,
            };
            let page: Vec<Value> = all
                .iter()
                .skip(start)
                .take(limit)
                .map(|v| (*v).clone())
                .collect();
            let has_more = start + page.len() < all.len();
            *st.list_pages_served
                .entry(resource.to_string())
                .or_default() += 1;
            (
                200,
                json!({"object": "list", "url": path, "has_more": has_more, "data": page}),
            )
        }
        ("GET", ["v1", resource, id]) => {
            if let Some(d) = deny(st, resource, false) {
                return d;
            }
            match st
                .objects
                .get(*resource)
                .and_then(|v| v.iter().find(|o| o["id"] == *id))
            {
                Some(o) => (200, o.clone()),
                None => missing("id"),
            }
        }
        ("POST", ["v1", "webhook_endpoints"]) => {
            if let Some(d) = deny(st, "webhook_endpoints", true) {
                return d;
            }
            let Some(url) = p("url") else {
                return error(
                    400,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "Missing url",
                    Some("url"),
                );
            };
            st.next_id += 1;
            let events: Vec<String> = params
                .iter()
                .filter(|(k, _)| k == "enabled_events[]")
                .map(|(_, v)| v.clone())
                .collect();
            let ep = json!({
                "id": format!("we_fake{}", st.next_id), "object": "webhook_endpoint", "url": url,
                "enabled_events": events, "api_version": p("api_version"), "status": "enabled",
                "livemode": false,
            });
            st.endpoints.push(ep.clone());
            let mut with_secret = ep;
            if !std::mem::take(&mut st.omit_next_secret) {
                with_secret["secret"] = json!(format!("whsec_fakesecret{}", st.next_id));
            }
            (200, with_secret)
        }
        ("POST", ["v1", "webhook_endpoints", id]) => {
            if let Some(d) = deny(st, "webhook_endpoints", true) {
                return d;
            }
            let url = p("url");
            let events: Vec<String> = params
                .iter()
                .filter(|(k, _)| k == "enabled_events[]")
                .map(|(_, v)| v.clone())
                .collect();
            match st.endpoints.iter_mut().find(|e| e["id"] == *id) {
                Some(e) => {
                    if let Some(u) = url {
                        e["url"] = json!(u);
                    }
                    if !events.is_empty() {
                        e["enabled_events"] = json!(events);
                    }
                    (200, e.clone())
                }
                None => missing("id"),
            }
        }
        ("DELETE", ["v1", "webhook_endpoints", id]) => {
            if let Some(d) = deny(st, "webhook_endpoints", true) {
                return d;
            }
            let before = st.endpoints.len();
            st.endpoints.retain(|e| e["id"] != *id);
            if st.endpoints.len() == before {
                return missing("id");
            }
            (
                200,
                json!({"id": id, "object": "webhook_endpoint", "deleted": true}),
            )
        }
        ("DELETE", ["v1", "customers", id]) => {
            if let Some(d) = deny(st, "customers", true) {
                return d;
            }
            let list = st.objects.entry("customers".into()).or_default();
            let before = list.len();
            list.retain(|c| c["id"] != *id);
            if list.len() == before {
                return missing("id");
            }
            (
                200,
                json!({"id": id, "object": "customer", "deleted": true}),
            )
        }
        ("POST", ["v1", resource, id]) => {
            if let Some(d) = deny(st, resource, true) {
                return d;
            }
            match st
                .objects
                .get(*resource)
                .and_then(|v| v.iter().find(|o| o["id"] == *id))
            {
                Some(o) => (200, o.clone()),
                None => missing("id"),
            }
        }
        _ => unrecognized(),
    }
}

/// The redaction-job routes below `/v1/privacy/redaction_jobs`.
fn redaction(
    st: &mut State,
    method: &str,
    rest: &[&str],
    params: &[(String, String)],
) -> (u16, Value) {
    let state_error = |status: &str| {
        error(
            400,
            "invalid_request_error",
            Some("redaction_job_invalid_state"),
            &format!("The job is {status}"),
            None,
        )
    };
    let errors_of = |st: &State, job: &Value| -> Vec<Value> {
        job["objects"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.iter())
            .flat_map(|(kind, ids)| {
                ids.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|id| id.as_str())
                    .filter_map(|id| {
                        st.redaction_invalid.get(id).map(|code| {
                            json!({"id": format!("prjve_{id}"),
                                "object": "privacy.redaction_job_validation_error",
                                "code": code, "message": format!("{id} cannot be redacted"),
                                "erroring_object": {"id": id, "object_type": kind.trim_end_matches('s')}})
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let public = |job: &Value| {
        json!({"id": job["id"], "object": "privacy.redaction_job", "created": job["created"],
            "livemode": false, "status": job["status"], "objects": job["objects"],
            "validation_behavior": "error"})
    };
    match (method, rest) {
        ("GET", []) => (
            200,
            json!({"object": "list", "has_more": false,
                "data": st.redaction_jobs.iter().map(public).collect::<Vec<_>>()}),
        ),
        ("POST", []) => {
            let mut objects = serde_json::Map::new();
            for (k, v) in params {
                if let Some(kind) = k
                    .strip_prefix("objects[")
                    .and_then(|k| k.strip_suffix("][]"))
                {
                    objects
                        .entry(kind.to_owned())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                        .unwrap()
                        .push(json!(v));
                }
            }
            if objects.is_empty() {
                return error(
                    400,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "Missing objects",
                    Some("objects"),
                );
            }
            st.next_id += 1;
            let job = json!({"id": format!("prj_fake{}", st.next_id), "created": 1,
                "status": "validating", "objects": objects});
            st.redaction_jobs.push(job.clone());
            (200, public(&job))
        }
        (_, [id, tail @ ..]) => {
            let Some(i) = st.redaction_jobs.iter().position(|j| j["id"] == *id) else {
                return missing("job");
            };
            let status = st.redaction_jobs[i]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            match (method, tail) {
                ("GET", []) => {
                    // Stripe works asynchronously: each look moves the job one step on.
                    let next = match status.as_str() {
                        "validating" if errors_of(st, &st.redaction_jobs[i]).is_empty() => "ready",
                        "validating" => "failed",
                        "redacting" => {
                            let ids: Vec<String> = st.redaction_jobs[i]["objects"]
                                .as_object()
                                .unwrap()
                                .values()
                                .flat_map(|v| v.as_array().unwrap().clone())
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect();
                            for list in st.objects.values_mut() {
                                for o in list
                                    .iter_mut()
                                    .filter(|o| ids.iter().any(|id| o["id"] == id.as_str()))
                                {
                                    for f in
                                        ["email", "name", "address", "phone", "billing_details"]
                                    {
                                        if o.get(f).is_some() {
                                            o[f] = Value::Null;
                                        }
                                    }
                                }
                            }
                            st.redacted.extend(ids);
                            "succeeded"
                        }
                        other => other,
                    }
                    .to_owned();
                    st.redaction_jobs[i]["status"] = json!(next);
                    (200, public(&st.redaction_jobs[i]))
                }
                ("GET", ["validation_errors"]) => (
                    200,
                    json!({"object": "list", "has_more": false,
                        "data": if status == "failed" { errors_of(st, &st.redaction_jobs[i]) } else { vec![] }}),
                ),
                ("POST", ["validate"]) if status == "failed" => {
                    st.redaction_jobs[i]["status"] = json!("validating");
                    (200, public(&st.redaction_jobs[i]))
                }
                ("POST", ["run"]) if status == "ready" => {
                    st.redaction_jobs[i]["status"] = json!("redacting");
                    (200, public(&st.redaction_jobs[i]))
                }
                ("POST", ["validate" | "run"]) => state_error(&status),
                _ => unrecognized(),
            }
        }
        _ => unrecognized(),
    }
}

fn unrecognized() -> (u16, Value) {
    error(
        404,
        "invalid_request_error",
        None,
        "Unrecognized request URL",
        None,
    )
}

fn missing(param: &str) -> (u16, Value) {
    error(
        404,
        "invalid_request_error",
        Some("resource_missing"),
        "No such object",
        Some(param),
    )
}
