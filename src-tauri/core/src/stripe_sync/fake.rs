//! For the unit tests only: a Stripe stand-in on loopback that answers each request with what a
//! closure returns, and records the requests. The real client ([`Client::with_base`]) talks to
//! it over HTTP (hyper serves it, on its own runtime). The full fake Stripe (pagination,
//! permissions, idempotency, redaction jobs) is `tests/integration/fake_stripe.rs`; this one
//! knows nothing of Stripe: each test answers what it needs.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

use crate::secrets::Secret;
use crate::stripe::client::Client;

/// A test-mode restricted key (the client paces test mode at 25 requests/s).
pub const KEY: &str = "rk_test_unitfake0123456789";

/// One request answered: method, path and query (form bodies are not read).
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
}

impl Req {
    pub fn param(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Req) -> (u16, Value) + Send + Sync;

pub struct Fake {
    base: String,
    requests: Arc<Mutex<Vec<Req>>>,
    _rt: Runtime,
}

impl Fake {
    /// Serves on 127.0.0.1 (a free port) until dropped; `answer` gives status and JSON body.
    pub fn start(answer: impl Fn(&Req) -> (u16, Value) + Send + Sync + 'static) -> Fake {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let answer: Arc<Handler> = Arc::new(answer);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, log) = (answer.clone(), log.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |r: Request<Incoming>| {
                        let query = r.uri().query().unwrap_or("").as_bytes();
                        let req = Req {
                            method: r.method().to_string(),
                            path: r.uri().path().to_owned(),
                            query: url::form_urlencoded::parse(query).into_owned().collect(),
                        };
                        let (status, body) = answer(&req);
                        log.lock().unwrap().push(req);
                        let resp = Response::builder()
                            .status(status)
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(body.to_string())))
                            .unwrap();
                        async move { Ok::<_, Infallible>(resp) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Fake {
            base,
            requests,
            _rt: rt,
        }
    }

    pub fn client(&self) -> Client {
        Client::with_base(Secret::new(KEY), &self.base).unwrap()
    }

    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

/// A Stripe error body with `status`'s usual type.
pub fn error(status: u16) -> (u16, Value) {
    (
        status,
        json!({"error": {"type": "invalid_request_error", "message": "unit-test fake"}}),
    )
}

/// A fresh database (in a temporary directory) with one Stripe processor; returns its id.
pub(crate) fn db_with_processor() -> (tempfile::TempDir, crate::store::Db, i64) {
    use crate::store::processors::{insert, NewProcessor};
    let tmp = tempfile::tempdir().unwrap();
    let db = crate::store::Db::open(tmp.path()).unwrap();
    let id = db
        .write(|c| insert(c, &NewProcessor::bare_stripe("unit")))
        .unwrap();
    (tmp, db, id)
}
