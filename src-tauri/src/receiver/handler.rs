//! One request from tiny_http: route → endpoint token → body cap → signature → parse →
//! a write job whose answer is sent after the commit.

use std::collections::HashMap;
use std::io::Read;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

use super::edge::EDGE_HEADER;
use super::Answer;
use crate::context::Context;
use crate::error::Error;
use crate::ingest::{self, StoreJob};
use crate::processors::{self, Endpoint};
use crate::secrets::Secret;
use crate::stripe::{event, signature};
use crate::time::now_ms;
use crate::webhook;

/// How often an endpoint's secrets may be re-read from the keychain after a mismatch
/// (a `processor set-secret` from another process).
const SECRET_REFRESH: Duration = Duration::from_secs(5);
/// Cached endpoints are re-read this often, so that a replaced secret stops working.
const ENDPOINT_TTL: Duration = Duration::from_secs(60);

pub struct Handler {
    ctx: Context,
    endpoints: Endpoints,
    edge_token: Arc<String>,
    replies: Mutex<Sender<(tiny_http::Request, Answer)>>,
    max_body: usize,
}

impl Handler {
    pub fn new(
        ctx: Context,
        edge_token: Arc<String>,
        replies: Sender<(tiny_http::Request, Answer)>,
        max_body: usize,
    ) -> Handler {
        Handler {
            endpoints: Endpoints {
                ctx: ctx.clone(),
                map: RwLock::new(HashMap::new()),
            },
            ctx,
            edge_token,
            replies: Mutex::new(replies),
            max_body,
        }
    }

    pub fn forget_endpoints(&self) {
        self.endpoints.map.write().expect("endpoint map").clear();
    }

    pub fn handle(&self, mut rq: tiny_http::Request) {
        let received_at = now_ms();
        let prepared = self.prepare(&mut rq, received_at);
        let replies = self.replies.lock().expect("reply channel").clone();
        let (row, processor_id) = match prepared {
            Ok(p) => p,
            Err(answer) => {
                let _ = replies.send((rq, answer));
                return;
            }
        };
        let event_id = row.event_id.clone();
        let job = StoreJob::new(row, move |outcome| {
            let mut answer = match outcome {
                Ok(o) => Answer {
                    status: 200,
                    outcome: o.as_str(),
                    reason: None,
                    event_id: None,
                    processor_id: None,
                    logged: true,
                },
                Err(Error::Unavailable(_)) => Answer::new(
                    503,
                    "saturated",
                    "the receiver is saturated; Stripe will retry",
                ),
                Err(e) => {
                    tracing::error!(error = %e, "storing an event failed");
                    Answer::new(500, "store_failed", "the event could not be stored")
                }
            };
            answer.event_id = Some(event_id);
            answer.processor_id = Some(processor_id);
            let _ = replies.send((rq, answer));
        });
        if let Err(job) = self.ctx.db.try_submit(job.with_delivery_log()) {
            job.finish(Err(Error::Unavailable("write queue full".into())));
        }
    }

    fn prepare(
        &self,
        rq: &mut tiny_http::Request,
        received_at: i64,
    ) -> Result<(crate::store::events::NewEvent, i64), Answer> {
        let through_edge = rq
            .headers()
            .iter()
            .find(|h| h.field.equiv(EDGE_HEADER))
            .is_some_and(|h| bool::from(h.value.as_bytes().ct_eq(self.edge_token.as_bytes())));
        if !through_edge {
            return Err(Answer::new(
                403,
                "forbidden",
                "not received through the edge",
            ));
        }
        let not_found = || Answer::new(404, "not_found", "no such route");
        if *rq.method() != tiny_http::Method::Post {
            return Err(not_found());
        }
        let (path, query) = rq.url().split_once('?').unwrap_or((rq.url(), ""));
        let (route, endpoint_id) = match path.split('/').collect::<Vec<_>>()[..] {
            ["", "webhooks", route @ ("stripe" | "custom"), id] => (route, id.to_owned()),
            _ => return Err(not_found()),
        };
        let token = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .unwrap_or("");

        let unauthorized = || {
            Answer::new(
                401,
                "unauthorized",
                "unknown endpoint or wrong token: re-copy the webhook URL from Privacy Desk",
            )
        };
        let cached = self.endpoints.get(&endpoint_id).ok_or_else(unauthorized)?;
        let ep = cached.endpoint.read().expect("endpoint lock").clone();
        let token_ok: bool = processors::token_hash(&Secret::new(token))
            .ct_eq(&ep.token_hash)
            .into();
        if processors::route_segment(&ep.kind) != route || !token_ok {
            return Err(unauthorized());
        }
        let answer_for = |mut a: Answer| {
            a.processor_id = Some(ep.processor_id);
            a
        };

        // Sized up front: read in one go rather than in growing steps (a system call each).
        let expected = rq.body_length().unwrap_or(0).min(self.max_body + 1);
        let mut body = Vec::with_capacity(expected);
        let read = rq
            .as_reader()
            .take(self.max_body as u64 + 1)
            .read_to_end(&mut body);
        if read.is_err() {
            return Err(answer_for(Answer::new(
                400,
                "bad_request",
                "the body could not be read",
            )));
        }
        if body.len() > self.max_body {
            return Err(answer_for(Answer::new(
                413,
                "payload_too_large",
                "the body is over 1 MiB",
            )));
        }

        if ep.kind == "webhook" {
            let incoming = self.custom(rq, &endpoint_id, &cached, &ep, &body, received_at);
            return match incoming {
                Ok(inc) => Ok((
                    ingest::row(ep.processor_id, &ep.source, inc, received_at),
                    ep.processor_id,
                )),
                Err(a) => Err(answer_for(a)),
            };
        }
        if ep.kind != "stripe" {
            return Err(answer_for(Answer::new(
                400,
                "unsupported",
                "this processor kind does not receive webhooks",
            )));
        }
        let header = rq
            .headers()
            .iter()
            .find(|h| h.field.equiv("Stripe-Signature"))
            .map(|h| h.value.as_str().to_owned());
        let now_secs = received_at / 1000;
        let mut verified =
            signature::verify(header.as_deref(), &body, &ep.signing_secrets, now_secs);
        if matches!(
            verified,
            Err(signature::SignatureError::Mismatch | signature::SignatureError::NoSecret)
        ) {
            if let Some(fresh) = self.endpoints.refresh(&endpoint_id, &cached) {
                verified =
                    signature::verify(header.as_deref(), &body, &fresh.signing_secrets, now_secs);
            }
        }
        if let Err(e) = verified {
            return Err(answer_for(Answer::new(400, e.outcome(), e.to_string())));
        }

        let incoming = event::parse(&body, received_at)
            .map_err(|e| answer_for(Answer::new(400, "invalid_payload", e.to_string())))?;
        Ok((
            ingest::row(ep.processor_id, &ep.source, incoming, received_at),
            ep.processor_id,
        ))
    }
}

impl Handler {
    /// A generic webhook processor's request: its configured signature header, then its JSON
    /// pointers (see `crate::webhook`).
    fn custom(
        &self,
        rq: &tiny_http::Request,
        endpoint_id: &str,
        cached: &Cached,
        ep: &Endpoint,
        body: &[u8],
        received_at: i64,
    ) -> Result<ingest::model::Incoming, Answer> {
        let Some(cfg) = &ep.webhook else {
            return Err(Answer::new(
                400,
                "unsupported",
                "this webhook processor's configuration is unreadable: add it again",
            ));
        };
        let header = rq
            .headers()
            .iter()
            .find(|h| {
                h.field
                    .as_str()
                    .as_str()
                    .eq_ignore_ascii_case(&cfg.signature_header)
            })
            .map(|h| h.value.as_str().to_owned());
        let mut verified = webhook::verify(cfg, header.as_deref(), body, &ep.signing_secrets);
        if matches!(
            verified,
            Err(webhook::SignatureError::Mismatch | webhook::SignatureError::NoSecret)
        ) {
            if let Some(fresh) = self.endpoints.refresh(endpoint_id, cached) {
                verified = webhook::verify(cfg, header.as_deref(), body, &fresh.signing_secrets);
            }
        }
        if let Err(e) = verified {
            return Err(Answer::new(400, "bad_signature", e.to_string()));
        }
        webhook::parse(cfg, body, received_at)
            .map_err(|e| Answer::new(400, "invalid_payload", e.to_string()))
    }
}

pub fn respond(rq: tiny_http::Request, a: &Answer) {
    let response = tiny_http::Response::from_string(a.json())
        .with_status_code(a.status)
        .with_header(
            "Content-Type: application/json"
                .parse::<tiny_http::Header>()
                .expect("a valid header"),
        );
    if let Err(e) = rq.respond(response) {
        tracing::debug!(error = %e, "the client left before its answer");
    }
}

/// Endpoints by public id, with their secrets, loaded from the database and keychain on
/// first use.
struct Endpoints {
    ctx: Context,
    map: RwLock<HashMap<String, Arc<Cached>>>,
}

struct Cached {
    endpoint: RwLock<Endpoint>,
    loaded: Instant,
    refreshed: Mutex<Instant>,
}

impl Endpoints {
    fn get(&self, endpoint_id: &str) -> Option<Arc<Cached>> {
        // Endpoint ids are 24 hex digits: anything else is not looked up at all.
        if endpoint_id.len() != 24 || !endpoint_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        if let Some(c) = self.map.read().expect("endpoint map").get(endpoint_id) {
            if c.loaded.elapsed() < ENDPOINT_TTL {
                return Some(c.clone());
            }
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
            endpoint: RwLock::new(ep),
            loaded: Instant::now(),
            refreshed: Mutex::new(Instant::now()),
        });
        self.map
            .write()
            .expect("endpoint map")
            .insert(endpoint_id.to_owned(), cached.clone());
        Some(cached)
    }

    /// Re-reads the endpoint (its signing secret may have changed), at most every
    /// [`SECRET_REFRESH`].
    fn refresh(&self, endpoint_id: &str, cached: &Cached) -> Option<Endpoint> {
        {
            let mut at = cached.refreshed.lock().expect("refresh time");
            if at.elapsed() < SECRET_REFRESH {
                return None;
            }
            *at = Instant::now();
        }
        let fresh = processors::endpoint(&self.ctx, endpoint_id).ok()??;
        *cached.endpoint.write().expect("endpoint lock") = fresh.clone();
        Some(fresh)
    }
}
