//! What a request means, with no I/O of its own: its route and token ([`route`]), whether
//! its framing is unambiguous ([`framing`]), its endpoint and token check ([`Handler`], which
//! caches endpoints and their secrets), and its signature and payload ([`Handler::verify`]) →
//! the row to store. [`super::http`] drives these around the socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hyper::header::{HeaderMap, CONTENT_LENGTH, TRANSFER_ENCODING};
use hyper::{Method, Uri};
use subtle::ConstantTimeEq;

use super::Answer;
use crate::context::Context;
use crate::domain::processors::ProcessorKind;
use crate::domain::processors::{self, Endpoint};
use crate::ingest;
use crate::secrets::Secret;
use crate::store::events::NewEvent;
use crate::stripe::{event, signature};
use crate::webhook;

/// How often an endpoint's secrets may be re-read from the keychain after a mismatch
/// (a `processor set-secret` from another process).
const SECRET_REFRESH: Duration = Duration::from_secs(5);
/// Cached endpoints are re-read this often, so that a replaced secret stops working.
const ENDPOINT_TTL: Duration = Duration::from_secs(60);

/// A request for one of the two webhook routes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// `stripe` or `custom`, the path segment.
    pub kind: String,
    pub endpoint_id: String,
    /// The `token` query parameter; `None` when missing or given more than once.
    pub token: Option<String>,
}

fn not_found() -> Answer {
    Answer::new(404, "not_found", "no such route")
}

pub(crate) fn unauthorized() -> Answer {
    Answer::new(
        401,
        "unauthorized",
        "unknown endpoint or wrong token: re-copy the webhook URL from Privacy Desk",
    )
}

pub(crate) fn bad_request(reason: &str) -> Answer {
    Answer::new(400, "bad_request", reason)
}

/// `POST /webhooks/{stripe|custom}/{endpoint_id}?token=…`; anything else is a 404. The path
/// is matched as sent: percent-encoded segments are not decoded into a route.
pub fn route(method: &Method, uri: &Uri) -> Result<Route, Answer> {
    if method != Method::POST {
        return Err(not_found());
    }
    let mut segments = uri.path().split('/');
    let (kind, id) = match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some(""), Some("webhooks"), Some(kind @ ("stripe" | "custom")), Some(id), None) => {
            (kind, id)
        }
        _ => return Err(not_found()),
    };
    let mut tokens = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    let token = match (tokens.next(), tokens.next()) {
        (Some(t), None) => Some(t),
        _ => None,
    };
    Ok(Route {
        kind: kind.to_owned(),
        endpoint_id: id.to_owned(),
        token,
    })
}

/// Refuses framing that two parsers could read differently (request smuggling): a
/// `Content-Length` beside a `Transfer-Encoding`, or a transfer coding other than plain
/// `chunked`. hyper has already refused differing `Content-Length`s and malformed chunks.
pub fn framing(headers: &HeaderMap) -> Result<(), Answer> {
    let mut codings = headers.get_all(TRANSFER_ENCODING).iter().peekable();
    if codings.peek().is_none() {
        return Ok(());
    }
    if headers.contains_key(CONTENT_LENGTH) {
        return Err(bad_request(
            "both Content-Length and Transfer-Encoding are set",
        ));
    }
    let only_chunked = codings.all(|v| {
        v.to_str()
            .is_ok_and(|s| s.trim().eq_ignore_ascii_case("chunked"))
    });
    if !only_chunked || headers.get_all(TRANSFER_ENCODING).iter().count() != 1 {
        return Err(bad_request(
            "only the chunked transfer encoding is supported",
        ));
    }
    Ok(())
}

/// A refused verification; `stale_secret` says a fresher secret from the keychain might
/// verify it (the secret was replaced by another process).
pub(crate) struct Refused {
    pub answer: Answer,
    pub stale_secret: bool,
}

pub(crate) struct Handler {
    ctx: Context,
    map: RwLock<HashMap<String, Arc<Cached>>>,
}

/// An endpoint with its secrets, as loaded from the database and keychain.
pub(crate) struct Cached {
    endpoint: RwLock<Arc<Endpoint>>,
    loaded: Instant,
    refreshed: Mutex<Instant>,
}

impl Cached {
    pub fn endpoint(&self) -> Arc<Endpoint> {
        match self.endpoint.read() {
            Ok(e) => e.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Endpoint ids are 24 hex digits: anything else is never looked up.
fn well_formed_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Handler {
    pub fn new(ctx: Context) -> Handler {
        Handler {
            ctx,
            map: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn forget_endpoints(&self) {
        if let Ok(mut m) = self.map.write() {
            m.clear();
        }
    }

    /// The endpoint from the cache, if it was loaded recently; no I/O.
    pub(crate) fn cached(&self, endpoint_id: &str) -> Option<Arc<Cached>> {
        let map = self.map.read().ok()?;
        map.get(endpoint_id)
            .filter(|c| c.loaded.elapsed() < ENDPOINT_TTL)
            .cloned()
    }

    /// Loads the endpoint from the database and keychain (blocking: call it off the async
    /// threads), and caches it.
    pub fn load(&self, endpoint_id: &str) -> Option<Arc<Cached>> {
        if !well_formed_id(endpoint_id) {
            return None;
        }
        let ep = match processors::endpoint(&self.ctx, endpoint_id) {
            Ok(Some(ep)) => ep,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "loading an endpoint failed");
                return None;
            }
        };
        let cached = Arc::new(Cached {
            endpoint: RwLock::new(Arc::new(ep)),
            loaded: Instant::now(),
            refreshed: Mutex::new(Instant::now()),
        });
        if let Ok(mut m) = self.map.write() {
            m.insert(endpoint_id.to_owned(), cached.clone());
        }
        Some(cached)
    }

    /// Re-reads the endpoint (its signing secret may have changed), at most every
    /// [`SECRET_REFRESH`]; blocking. `None` when it is not due or is gone.
    pub(crate) fn refresh(&self, endpoint_id: &str, cached: &Cached) -> Option<Arc<Endpoint>> {
        {
            let mut at = cached.refreshed.lock().ok()?;
            if at.elapsed() < SECRET_REFRESH {
                return None;
            }
            *at = Instant::now();
        }
        let fresh = match processors::endpoint(&self.ctx, endpoint_id) {
            Ok(Some(ep)) => Arc::new(ep),
            // Removed (by another process): forget it, so that its URL is refused from now on.
            Ok(None) => {
                if let Ok(mut m) = self.map.write() {
                    m.remove(endpoint_id);
                }
                return None;
            }
            Err(_) => return None,
        };
        if let Ok(mut e) = cached.endpoint.write() {
            *e = fresh.clone();
        }
        Some(fresh)
    }
}

/// The route's token and kind against the endpoint's (the token compared in constant time).
pub(crate) fn authorise(route: &Route, ep: &Endpoint) -> Result<(), Answer> {
    let token = Secret::new(route.token.as_deref().unwrap_or(""));
    let token_ok: bool = processors::token_hash(&token).ct_eq(&ep.token_hash).into();
    if route.token.is_none() || !token_ok || ep.kind.route_segment() != route.kind {
        return Err(unauthorized());
    }
    Ok(())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    // A signature is ASCII: a value with other bytes cannot verify, and is treated as absent.
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The signature and payload of a request for `ep` → the row to store.
pub fn verify(
    ep: &Endpoint,
    headers: &HeaderMap,
    body: &[u8],
    received_at: i64,
) -> Result<NewEvent, Refused> {
    let refused = |answer: Answer, stale_secret: bool| Refused {
        answer,
        stale_secret,
    };
    let incoming = match ep.kind {
        ProcessorKind::Stripe => {
            let sig = header(headers, "stripe-signature");
            signature::verify(sig, body, &ep.signing_secrets, received_at / 1000).map_err(|e| {
                let stale = matches!(
                    e,
                    signature::SignatureError::Mismatch | signature::SignatureError::NoSecret
                );
                refused(Answer::new(400, e.outcome(), e.to_string()), stale)
            })?;
            event::parse(body, received_at)
                .map_err(|e| refused(Answer::new(400, "invalid_payload", e.to_string()), false))?
        }
        ProcessorKind::Webhook => {
            let Some(cfg) = &ep.webhook else {
                return Err(refused(
                    Answer::new(
                        400,
                        "unsupported",
                        "this webhook processor's configuration is unreadable: add it again",
                    ),
                    false,
                ));
            };
            webhook::verify_delivery(
                cfg,
                |name| header(headers, name),
                body,
                &ep.signing_secrets,
                received_at.div_euclid(1000),
            )
            .map_err(|e| {
                let stale = matches!(
                    e,
                    webhook::SignatureError::Mismatch | webhook::SignatureError::NoSecret
                );
                refused(Answer::new(400, e.outcome(), e.to_string()), stale)
            })?;
            webhook::parse(cfg, body, received_at)
                .map_err(|e| refused(Answer::new(400, "invalid_payload", e.to_string()), false))?
        }
        ProcessorKind::Manual => {
            return Err(refused(
                Answer::new(
                    400,
                    "unsupported",
                    "this processor kind does not receive webhooks",
                ),
                false,
            ))
        }
    };
    Ok(ingest::row(
        ep.processor_id,
        &ep.source,
        incoming,
        received_at,
        Some(&ep.replay_key),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn routes_are_matched_exactly() {
        let id = "a".repeat(24);
        let ok = route(
            &Method::POST,
            &uri(&format!("/webhooks/stripe/{id}?token=t1")),
        )
        .unwrap();
        assert_eq!(ok.kind, "stripe");
        assert_eq!(ok.endpoint_id, id);
        assert_eq!(ok.token.as_deref(), Some("t1"));
        // Absolute form (RFC 9112 §3.2.2): the same route.
        let abs = route(
            &Method::POST,
            &uri(&format!(
                "http://shop.example/webhooks/custom/{id}?token=t1"
            )),
        )
        .unwrap();
        assert_eq!(abs.kind, "custom");
        for (m, p) in [
            (Method::GET, format!("/webhooks/stripe/{id}?token=t1")),
            (Method::HEAD, "/".to_owned()),
            (Method::POST, "/webhooks/stripe".to_owned()),
            (Method::POST, format!("/webhooks/stripe/{id}/extra")),
            (Method::POST, format!("/webhooks/%73tripe/{id}?token=t1")),
            (Method::POST, format!("/webhooks/paypal/{id}")),
            (Method::POST, format!("//webhooks/stripe/{id}")),
        ] {
            assert_eq!(route(&m, &uri(&p)).unwrap_err().status, 404, "{m} {p}");
        }
    }

    #[test]
    fn a_token_given_twice_counts_as_none() {
        let id = "a".repeat(24);
        let r = route(
            &Method::POST,
            &uri(&format!("/webhooks/stripe/{id}?token=t1&token=t1")),
        )
        .unwrap();
        assert_eq!(r.token, None);
        let r = route(&Method::POST, &uri(&format!("/webhooks/stripe/{id}"))).unwrap();
        assert_eq!(r.token, None);
    }

    #[test]
    fn ambiguous_framing_is_refused() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.append(*k, v.parse().unwrap());
            }
            m
        };
        assert!(framing(&h(&[("content-length", "5")])).is_ok());
        assert!(framing(&h(&[("transfer-encoding", "chunked")])).is_ok());
        assert!(framing(&h(&[("transfer-encoding", " Chunked ")])).is_ok());
        for bad in [
            h(&[("content-length", "5"), ("transfer-encoding", "chunked")]),
            h(&[("transfer-encoding", "gzip, chunked")]),
            h(&[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "chunked"),
            ]),
            h(&[("transfer-encoding", "identity")]),
        ] {
            assert_eq!(framing(&bad).unwrap_err().status, 400, "{bad:?}");
        }
    }
}
