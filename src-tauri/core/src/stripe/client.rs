//! The Stripe REST client: the only code that talks to Stripe's API.
//!
//! - `Stripe-Version` pinned to [`API_VERSION`]; v1 requests are form-encoded.
//! - Cursor pagination (`limit=100`, `starting_after`, `has_more`) through [`Client::list_pages`].
//! - 429 and 5xx are retried with exponential backoff and full jitter (honouring
//!   `Retry-After` and `Stripe-Should-Retry`); a failed connection is retried once, so that an
//!   offline check fails in about a second (the background jobs retry on their own schedule:
//!   `crate::jobs`). Requests are paced below Stripe's rate limits (100 ops/s live, 25 ops/s
//!   test).
//! - Every mutating call carries an `Idempotency-Key`, the same one on every retry.
//! - Stripe's error JSON becomes a [`StripeError`] whose message names what to fix (a 403 names
//!   the missing permission). Messages never include the key, Stripe's own message text (it
//!   may quote the key) or personal data.
//!
//! The client is blocking: call it from a plain thread (CLI) or `spawn_blocking` (GUI).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::error::Error;
use crate::secrets::Secret;

/// The API version every request is pinned to.
pub(crate) const API_VERSION: &str = "2025-10-29.clover";
/// Overrides the API base URL (tests, a proxy).
pub(crate) const BASE_ENV: &str = "PRIVACY_DESK_STRIPE_API_BASE";
pub(crate) const DEFAULT_BASE: &str = "https://api.stripe.com";
/// Overrides the first retry delay in milliseconds (tests).
pub(crate) const BACKOFF_ENV: &str = "PRIVACY_DESK_STRIPE_BACKOFF_MS";
/// Page size for list calls (Stripe's maximum).
pub(crate) const PAGE_LIMIT: u32 = 100;

const MAX_RETRIES: u32 = 6;
/// Retries after a request that got no answer at all (offline, DNS, refused, reset).
const MAX_NETWORK_RETRIES: u32 = 1;
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// Which kind of key: restricted (`rk_…`) or a full secret key (`sk_…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Restricted,
    Secret,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Restricted => "restricted",
            KeyKind::Secret => "secret",
        }
    }
}

/// The kind and mode of an API key, from its prefix. Errors never quote the key.
pub(crate) fn key_info(key: &Secret) -> Result<(KeyKind, bool), Error> {
    let k = key.expose();
    let kind = if k.starts_with("rk_") {
        KeyKind::Restricted
    } else if k.starts_with("sk_") {
        KeyKind::Secret
    } else {
        return Err(Error::invalid(
            "that is not a Stripe API key: create a restricted key (`rk_…`) in the Stripe \
             Dashboard under Developers → API keys",
        ));
    };
    let livemode =
        match &k[3..] {
            s if s.starts_with("live_") => true,
            s if s.starts_with("test_") => false,
            _ => return Err(Error::invalid(
                "that Stripe API key is neither a live (`…_live_…`) nor a test (`…_test_…`) key",
            )),
        };
    if k.len() < 16 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Error::invalid(
            "that Stripe API key is malformed: paste it again, without spaces or quotes",
        ));
    }
    Ok((kind, livemode))
}

/// What went wrong with a Stripe call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeError {
    /// 401: the key is wrong, revoked or expired.
    Auth,
    /// 403: the restricted key lacks a permission (Stripe's `rak_…` name when it gave one).
    Permission { permission: String },
    /// 404: no such object.
    NotFound { what: String },
    /// 400/402/409: the request was refused; `code` and `param` are Stripe's.
    Invalid {
        status: u16,
        code: Option<String>,
        param: Option<String>,
    },
    /// 429 after every retry.
    RateLimited,
    /// 5xx after every retry, or an answer that is not Stripe's JSON.
    Server { status: u16 },
    /// No answer: DNS, connection, TLS or timeout.
    Network { detail: String },
}

impl StripeError {
    /// Stripe could not be reached or did not answer usefully (network, 5xx, rate limit): a
    /// workflow may go on with local data only and say so.
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(
            self,
            StripeError::Network { .. } | StripeError::Server { .. } | StripeError::RateLimited
        )
    }
}

impl std::fmt::Display for StripeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StripeError::Auth => f.write_str(
                "Stripe rejected the API key (401): it is wrong, expired or was rolled; set a \
                 new one on the processor's page (Processors → the processor → Restricted API \
                 key)",
            ),
            StripeError::Permission { permission } => write!(
                f,
                "the restricted key lacks permission {permission}: edit the key in the Stripe \
                 Dashboard (Developers → API keys) and grant it"
            ),
            StripeError::NotFound { what } => write!(f, "Stripe has no {what} (404)"),
            StripeError::Invalid {
                status,
                code,
                param,
            } => {
                write!(f, "Stripe refused the request ({status}")?;
                if let Some(c) = code {
                    write!(f, ", code `{c}`")?;
                }
                if let Some(p) = param {
                    write!(f, ", parameter `{p}`")?;
                }
                // Stripe's code and parameter name the cause; they never carry personal data.
                f.write_str(
                    "): nothing was changed at Stripe. Look the code up in Stripe's error \
                     reference (docs.stripe.com/error-codes); if the parameter is one Privacy \
                     Desk sets, your Stripe account may lack the feature: contact Stripe \
                     support, or report it to Privacy Desk with the code",
                )
            }
            StripeError::RateLimited => f.write_str(
                "Stripe kept answering 429 (rate limited) after several retries: try again in \
                 a minute",
            ),
            StripeError::Server { status } => write!(
                f,
                "Stripe's API failed ({status}) after several retries: try again later"
            ),
            StripeError::Network { detail } => write!(
                f,
                "cannot reach Stripe's API ({detail}): check the network connection"
            ),
        }
    }
}

impl std::error::Error for StripeError {}

impl From<StripeError> for Error {
    fn from(e: StripeError) -> Self {
        match e {
            StripeError::NotFound { .. } => Error::NotFound(e.to_string()),
            StripeError::Auth | StripeError::Permission { .. } => {
                Error::InvalidInput(e.to_string())
            }
            // The user's input was fine: Stripe refused what the app asked (exit 1).
            StripeError::Invalid { .. } => Error::Blocked(e.to_string()),
            _ => Error::Unavailable(e.to_string()),
        }
    }
}

/// One page of a list call.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub data: Vec<Value>,
    pub has_more: bool,
}

impl Page {
    /// The id to pass as `starting_after` for the next page.
    pub(crate) fn last_id(&self) -> Option<&str> {
        self.data.last()?.get("id")?.as_str()
    }
}

/// The objects of one customer from a list call, and how many others the answer held.
#[derive(Debug, Default)]
pub(crate) struct CustomerObjects {
    pub objects: Vec<Value>,
    /// Objects whose `customer` was another (or none): left out.
    pub dropped: usize,
}

/// The customer an object belongs to: its `customer` field, an id or an expanded customer.
fn owner(o: &Value) -> Option<&str> {
    match o.get("customer")? {
        Value::String(s) => Some(s),
        c => c.get("id")?.as_str(),
    }
}

/// A Stripe API client for one key.
pub struct Client {
    http: Http,
    base: String,
    key: Secret,
    livemode: bool,
    backoff: Duration,
    pace: Duration,
    last_request: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("livemode", &self.livemode)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `key`, against `PRIVACY_DESK_STRIPE_API_BASE` or api.stripe.com.
    pub fn new(key: Secret) -> Result<Client, Error> {
        let base = std::env::var(BASE_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE.to_owned());
        Self::with_base(key, &base)
    }

    pub fn with_base(key: Secret, base: &str) -> Result<Client, Error> {
        let (_, livemode) = key_info(&key)?;
        let backoff = std::env::var(BACKOFF_ENV)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_millis(500));
        let http = Http::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("PrivacyDesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Io(format!("cannot set up the HTTPS client: {e}")))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key,
            livemode,
            backoff,
            // Stay under Stripe's limits: 100 ops/s live, 25 ops/s in test mode.
            pace: Duration::from_millis(if livemode { 10 } else { 40 }),
            last_request: Mutex::new(None),
        })
    }

    pub fn livemode(&self) -> bool {
        self.livemode
    }

    /// GET `path` with query parameters.
    pub fn get(&self, path: &str, query: &[(String, String)]) -> Result<Value, StripeError> {
        self.call(Method::GET, path, query, None)
    }

    /// POST a form to `path`; a fresh idempotency key is used for this call and its retries.
    pub fn post(&self, path: &str, form: &[(String, String)]) -> Result<Value, StripeError> {
        self.call(Method::POST, path, form, Some(new_idempotency_key()))
    }

    /// POST with a caller-chosen idempotency key (to make a logical operation repeatable).
    pub(crate) fn post_idempotent(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<Value, StripeError> {
        self.call(Method::POST, path, form, Some(idempotency_key.to_owned()))
    }

    pub fn delete(&self, path: &str) -> Result<Value, StripeError> {
        self.call(Method::DELETE, path, &[], Some(new_idempotency_key()))
    }

    /// DELETE with a caller-chosen idempotency key (a resumed erasure repeats the same call).
    pub(crate) fn delete_idempotent(
        &self,
        path: &str,
        idempotency_key: &str,
    ) -> Result<Value, StripeError> {
        self.call(Method::DELETE, path, &[], Some(idempotency_key.to_owned()))
    }

    /// One page of a list: `limit=100` and `starting_after` added to `params`.
    pub(crate) fn list_page(
        &self,
        path: &str,
        params: &[(String, String)],
        starting_after: Option<&str>,
    ) -> Result<Page, StripeError> {
        let mut q = params.to_vec();
        q.push(("limit".into(), PAGE_LIMIT.to_string()));
        if let Some(after) = starting_after {
            q.push(("starting_after".into(), after.to_owned()));
        }
        let v = self.get(path, &q)?;
        let data = match v.get("data") {
            Some(Value::Array(a)) => a.clone(),
            _ => return Err(StripeError::Server { status: 200 }),
        };
        Ok(Page {
            has_more: v.get("has_more").and_then(Value::as_bool).unwrap_or(false),
            data,
        })
    }

    /// Walks every page from `starting_after`, calling `each` per page until it returns
    /// `Ok(false)` or the list ends.
    pub(crate) fn list_pages<E: From<StripeError>>(
        &self,
        path: &str,
        params: &[(String, String)],
        mut starting_after: Option<String>,
        mut each: impl FnMut(&Page) -> Result<bool, E>,
    ) -> Result<(), E> {
        loop {
            let page = self.list_page(path, params, starting_after.as_deref())?;
            if !each(&page)? || !page.has_more {
                return Ok(());
            }
            match page.last_id() {
                Some(id) => starting_after = Some(id.to_owned()),
                None => return Ok(()),
            }
        }
    }

    /// Every object of the list at `path` that belongs to `customer`: the list is asked with
    /// `customer=…` (and `extra`), and each object's own `customer` (an id, or an expanded
    /// customer) is checked too, so an answer that ignored the filter cannot put another
    /// customer's invoice into a package, a plan or a DELETE. What is dropped is counted and
    /// logged by object id (ids are not personal data).
    pub(crate) fn list_of_customer(
        &self,
        path: &str,
        customer: &str,
        extra: &[(&str, &str)],
    ) -> Result<CustomerObjects, StripeError> {
        let mut params = vec![("customer".to_owned(), customer.to_owned())];
        params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut out = CustomerObjects::default();
        let mut dropped: Vec<String> = Vec::new();
        self.list_pages::<StripeError>(path, &params, None, |page| {
            for o in &page.data {
                if owner(o) == Some(customer) {
                    out.objects.push(o.clone());
                } else {
                    dropped.push(
                        o.get("id")
                            .and_then(Value::as_str)
                            .unwrap_or("?")
                            .to_owned(),
                    );
                }
            }
            Ok(true)
        })?;
        if !dropped.is_empty() {
            tracing::warn!(
                path,
                count = dropped.len(),
                ids = ?dropped,
                "Stripe's list held objects of another customer: dropped"
            );
        }
        out.dropped = dropped.len();
        Ok(out)
    }

    fn call(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
        idempotency_key: Option<String>,
    ) -> Result<Value, StripeError> {
        // Only paths on the API host (`related_object.url` is one): never a full URL.
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(StripeError::Invalid {
                status: 0,
                code: Some("bad_path".into()),
                param: None,
            });
        }
        let url = format!("{}{path}", self.base);
        let mut attempt = 0u32;
        loop {
            self.pace();
            let mut req: RequestBuilder = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.key.expose())
                .header("Stripe-Version", API_VERSION);
            if let Some(k) = &idempotency_key {
                req = req.header("Idempotency-Key", k);
            }
            req = if method == Method::GET || method == Method::DELETE {
                req.query(params)
            } else {
                req.form(params)
            };
            let outcome = req.send();
            let retry_in = match outcome {
                Err(e) => {
                    let detail = network_detail(&e);
                    if attempt >= MAX_NETWORK_RETRIES {
                        return Err(StripeError::Network { detail });
                    }
                    tracing::debug!(
                        path = path_for_log(path),
                        attempt,
                        "stripe: network error, retrying"
                    );
                    None
                }
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    if status.is_success() {
                        return resp.json::<Value>().map_err(|_| StripeError::Server {
                            status: status.as_u16(),
                        });
                    }
                    let retryable = should_retry(status, &headers);
                    if !retryable || attempt >= MAX_RETRIES {
                        return Err(map_error(status, resp, path, method != Method::GET));
                    }
                    tracing::debug!(
                        path = path_for_log(path),
                        status = status.as_u16(),
                        attempt,
                        "stripe: retrying"
                    );
                    retry_after(&headers)
                }
            };
            let delay = retry_in.unwrap_or_else(|| self.backoff_for(attempt));
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    /// Full jitter: a random delay in [0, min(cap, base·2^attempt)], at least base/2.
    fn backoff_for(&self, attempt: u32) -> Duration {
        let ceiling = self
            .backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(MAX_BACKOFF);
        let floor = self.backoff / 2;
        let span = ceiling.saturating_sub(floor).as_millis() as u64;
        let mut b = [0u8; 8];
        let _ = getrandom::fill(&mut b);
        let jitter = if span == 0 {
            0
        } else {
            u64::from_le_bytes(b) % (span + 1)
        };
        floor + Duration::from_millis(jitter)
    }

    /// Spaces requests to stay below the mode's rate limit.
    fn pace(&self) {
        let mut last = self.last_request.lock().expect("pace lock");
        if let Some(t) = *last {
            let since = t.elapsed();
            if since < self.pace {
                std::thread::sleep(self.pace - since);
            }
        }
        *last = Some(Instant::now());
    }
}

fn new_idempotency_key() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random number generator is available");
    format!("privacy-desk-{}", hex::encode(b))
}

fn should_retry(status: StatusCode, headers: &HeaderMap) -> bool {
    match headers
        .get("stripe-should-retry")
        .and_then(|v| v.to_str().ok())
    {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(60.0)))
}

/// Ids can be personal-data adjacent (`cus_…`): logs get the path's first two segments only.
fn path_for_log(path: &str) -> String {
    path.split('?')
        .next()
        .unwrap_or("")
        .split('/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/")
}

fn network_detail(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

/// The Stripe permission a call needs, as `rak_…` names (used when Stripe's 403 names none).
pub(crate) fn permission_for(path: &str, mutating: bool) -> String {
    let resource = path
        .trim_start_matches('/')
        .split('/')
        .nth(1)
        .unwrap_or("")
        .split('?')
        .next()
        .unwrap_or("");
    let base = match resource {
        "customers" => "rak_customer",
        "charges" => "rak_charge",
        "payment_intents" => "rak_payment_intent",
        "invoices" => "rak_invoice",
        "subscriptions" => "rak_subscription",
        "events" => "rak_event",
        "webhook_endpoints" => "rak_webhook",
        _ => return format!("for {}", path_for_log(path)),
    };
    format!("{base}_{}", if mutating { "write" } else { "read" })
}

fn map_error(status: StatusCode, resp: Response, path: &str, method_mutates: bool) -> StripeError {
    let body: Value = resp.json().unwrap_or(Value::Null);
    let err = body.get("error");
    let field = |k: &str| {
        err.and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match status.as_u16() {
        401 => StripeError::Auth,
        403 => {
            // Stripe names the permission in its message ("… the 'rak_customer_read'
            // permission …"); keep only that token, never the rest (it quotes the key).
            let permission = field("message")
                .and_then(|m| extract_permission(&m))
                .unwrap_or_else(|| permission_for(path, method_mutates));
            StripeError::Permission { permission }
        }
        404 => StripeError::NotFound {
            what: match field("param") {
                Some(p) => format!("such object (`{p}`)"),
                None => format!("object at {}", path_for_log(path)),
            },
        },
        429 => StripeError::RateLimited,
        s if s >= 500 => StripeError::Server { status: s },
        s => StripeError::Invalid {
            status: s,
            code: field("code").filter(|c| is_token(c)),
            param: field("param").filter(|c| is_token(c)),
        },
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.[]-".contains(&b))
}

/// The first `rak_…` word in Stripe's 403 message.
pub(crate) fn extract_permission(message: &str) -> Option<String> {
    let start = message.find("rak_")?;
    let word: String = message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (word.len() > 4).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_kinds_and_modes() {
        let k = |s: &str| key_info(&Secret::new(s));
        assert_eq!(
            k("rk_test_0123456789abcdef").unwrap(),
            (KeyKind::Restricted, false)
        );
        assert_eq!(
            k(&format!("sk_live_{}", "0123456789abcdef")).unwrap(),
            (KeyKind::Secret, true)
        );
        for bad in [
            "pk_test_0123456789abcdef",
            "rk_test_1",
            "rk_prod_0123456789abcdef",
            "rk_test_012345 6789abcdef",
        ] {
            let e = k(bad).unwrap_err();
            assert!(!e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn permission_names() {
        assert_eq!(
            extract_permission("The provided key 'rk_test_***abc' does not have the required permissions for this endpoint on account 'acct_1'. Having the 'rak_customer_read' permission would allow this request to continue.").as_deref(),
            Some("rak_customer_read")
        );
        assert_eq!(extract_permission("nothing here"), None);
        assert_eq!(
            permission_for("/v1/webhook_endpoints/we_1", true),
            "rak_webhook_write"
        );
        assert_eq!(permission_for("/v1/customers", false), "rak_customer_read");
    }

    /// Offline, a check must fail at once: a request that gets no answer is retried once, not
    /// six times with backoff (which took ~20 s in the onboarding key check).
    #[test]
    fn a_request_with_no_answer_is_tried_twice_then_fails_as_network() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(conn); // closed before any answer
            }
        });
        let client = Client::with_base(Secret::new("rk_test_0123456789abcdef"), &base).unwrap();
        let err = client.get("/v1/customers", &[]).unwrap_err();
        assert!(matches!(err, StripeError::Network { .. }), "{err:?}");
        assert!(err.is_unreachable());
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = Client::with_base(
            Secret::new("rk_test_0123456789abcdef"),
            "http://127.0.0.1:1",
        )
        .unwrap();
        for attempt in 0..20 {
            let d = c.backoff_for(attempt);
            assert!(d >= c.backoff / 2 && d <= MAX_BACKOFF, "{attempt}: {d:?}");
        }
    }
}
