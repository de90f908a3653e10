//! The ngrok tunnel: gives the webhook receiver a public HTTPS URL that Stripe can reach. The
//! tunnel's connections are served in-process by the receiver's own service (a
//! [`receiver::Gate`]): no local port is forwarded to, so the tunnel path has exactly the
//! receiver's limits. Where the account allows a traffic policy, ngrok's edge answers every
//! path but `/webhooks/` with a 404 before it reaches this computer. The authtoken lives only
//! in the keychain (`tunnel set-token`). While a tunnel runs, its URL is the public base URL
//! and is pushed to the Stripe webhook endpoints registered before (see
//! `stripe_sync::update_registered_urls`).
//!
//! `Session::connect` has no timeout of its own: it is wrapped in `tokio::time::timeout`, and
//! offline it fails in milliseconds with a DNS or connection error, reported as such.

use std::time::Duration;

use futures_util::StreamExt;
use ngrok::config::TunnelBuilder;
use ngrok::tunnel::{EndpointInfo, HttpTunnel};
use ngrok::Error as _;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::receiver;
use crate::secrets::{Secret, SecretKind};
use crate::store::settings;
use crate::time::{now_ms, to_rfc3339};

/// Overrides the ngrok server address (`host:port`): tests, or an ngrok-compatible server.
pub(crate) const SERVER_ENV: &str = "PRIVACY_DESK_NGROK_SERVER";
/// How long `tunnel start` waits for ngrok before giving up.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Settings key of the running tunnel's state (URL, pid; no secrets).
const STATE_KEY: &str = "tunnel_state";
/// ngrok's edge refuses everything but the webhook routes (a traffic policy, in JSON).
const WEBHOOKS_ONLY_POLICY: &str = r#"{"on_http_request":[{"expressions":["!req.url.path.startsWith('/webhooks/')"],"actions":[{"type":"deny","config":{"status_code":404}}]}]}"#;

/// Checks the shape of an ngrok authtoken; the message never quotes it.
pub(crate) fn check_token(token: &Secret) -> Result<()> {
    let t = token.expose();
    if t.len() < 20
        || t.len() > 200
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::invalid(
            "that is not an ngrok authtoken: copy it from dashboard.ngrok.com → Your Authtoken",
        ));
    }
    Ok(())
}

/// Stores the ngrok authtoken in the keychain.
pub fn set_token(ctx: &Context, token: &Secret) -> Result<()> {
    check_token(token)?;
    ctx.keychain.set_app(SecretKind::TunnelToken, token)
}

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// A reserved ngrok domain, if the account has one.
    pub domain: Option<String>,
    /// The ngrok server (`host:port`); `None` for ngrok's own. From [`SERVER_ENV`].
    pub server_addr: Option<String>,
}

impl Config {
    pub fn new(domain: Option<String>) -> Result<Config> {
        if let Some(d) = &domain {
            if d.is_empty()
                || !d
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(Error::invalid(
                    "--domain must be a host name, e.g. shop.ngrok.app",
                ));
            }
        }
        Ok(Config {
            domain,
            server_addr: std::env::var(SERVER_ENV).ok().filter(|s| !s.is_empty()),
        })
    }
}

/// A running tunnel; dropping it closes the tunnel.
pub struct Running {
    pub url: String,
    /// Whether ngrok's edge refuses paths other than `/webhooks/` (the account's plan allows
    /// traffic policies).
    pub edge_policy: bool,
    serving: Option<tokio::task::JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Running {
    /// Blocks until the tunnel ends (the session was closed by ngrok).
    pub fn wait(&mut self) {
        if let (Some(rt), Some(serving)) = (&self.runtime, self.serving.as_mut()) {
            let _ = rt.block_on(serving);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.abort();
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Connects to ngrok with `token` and serves the public URL's connections through `gate`.
pub fn connect(token: &Secret, cfg: &Config, gate: receiver::Gate) -> Result<Running> {
    // Two rustls crypto providers are linked in (reqwest's, ngrok's): name the one to use, or
    // rustls panics when ngrok builds its TLS config. Fails harmlessly when already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tunnel")
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the tunnel runtime: {e}")))?;
    let (tunnel, edge_policy) = rt.block_on(connect_async(token, cfg))?;
    let url = tunnel.url().to_owned();
    let serving = rt.spawn(serve(tunnel, gate));
    Ok(Running {
        url,
        edge_policy,
        serving: Some(serving),
        runtime: Some(rt),
    })
}

/// Hands each connection the tunnel yields to the receiver, until the session ends.
async fn serve(mut tunnel: HttpTunnel, gate: receiver::Gate) {
    while let Some(conn) = tunnel.next().await {
        match conn {
            Ok(conn) => gate.serve(conn),
            Err(e) => {
                tracing::warn!(error = %e, "the tunnel stopped accepting connections");
                break;
            }
        }
    }
}

async fn connect_async(token: &Secret, cfg: &Config) -> Result<(HttpTunnel, bool)> {
    let mut builder = ngrok::Session::builder();
    builder.authtoken(token.expose());
    if let Some(addr) = &cfg.server_addr {
        builder
            .server_addr(addr.clone())
            .map_err(|_| Error::invalid(format!("{SERVER_ENV} must be host:port")))?;
    }
    let session = match tokio::time::timeout(CONNECT_TIMEOUT, builder.connect()).await {
        Err(_) => {
            return Err(Error::Unavailable(format!(
                "ngrok did not answer within {} s: check the network connection",
                CONNECT_TIMEOUT.as_secs()
            )))
        }
        Ok(Err(e)) => return Err(connect_error(&e)),
        Ok(Ok(s)) => s,
    };
    let endpoint = |policy: bool| {
        let mut endpoint = session.http_endpoint();
        endpoint.forwards_to("privacy-desk receiver (in-process)");
        if let Some(d) = &cfg.domain {
            endpoint.domain(d.clone());
        }
        if policy {
            endpoint.traffic_policy(WEBHOOKS_ONLY_POLICY);
        }
        endpoint
    };
    let listen = |policy: bool| {
        let endpoint = endpoint(policy);
        async move { tokio::time::timeout(CONNECT_TIMEOUT, endpoint.listen()).await }
    };
    let refused = |e: &ngrok::session::RpcError| {
        Error::Unavailable(format!(
            "ngrok refused to open the tunnel ({}): check the reserved domain and your plan",
            e.error_code().unwrap_or("no error code")
        ))
    };
    let timed_out =
        || Error::Unavailable("ngrok did not open the tunnel in time: try again".into());
    match listen(true).await {
        Err(_) => Err(timed_out()),
        Ok(Ok(t)) => Ok((t, true)),
        Ok(Err(e)) => {
            // Plans without traffic policies refuse the policy: open it without one (every
            // path then reaches the receiver, which answers 404 itself).
            tracing::info!(
                code = e.error_code().unwrap_or("none"),
                "ngrok refused the traffic policy; opening the tunnel without it"
            );
            match listen(false).await {
                Err(_) => Err(timed_out()),
                Ok(Ok(t)) => Ok((t, false)),
                Ok(Err(e)) => Err(refused(&e)),
            }
        }
    }
}

fn connect_error(e: &ngrok::session::ConnectError) -> Error {
    use ngrok::session::ConnectError as C;
    match e {
        C::Auth(rpc) => Error::invalid(format!(
            "ngrok rejected the authtoken ({}): set the right one with `privacy-desk tunnel \
             set-token`",
            rpc.error_code().unwrap_or("no error code")
        )),
        C::Tcp(io) => Error::Unavailable(format!(
            "cannot reach ngrok: {} (offline?); check the network connection",
            io.kind()
        )),
        other => {
            let mut msg = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            Error::Unavailable(format!(
                "cannot reach ngrok ({msg}); check the network connection"
            ))
        }
    }
}

/// What `forwards_to` says of a tunnel served by the receiver in its own process.
pub const IN_PROCESS: &str = "the receiver, in-process";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    url: String,
    forwards_to: String,
    pid: u32,
    started_at: i64,
}

/// Starts the tunnel with the keychain's token, records its URL as the public base URL, and
/// pushes it to the registered Stripe webhook endpoints.
pub fn start(ctx: &Context, cfg: &Config, gate: receiver::Gate) -> Result<Running> {
    let token = ctx
        .keychain
        .get_app(SecretKind::TunnelToken)?
        .ok_or_else(|| {
            Error::not_found(
                "no ngrok authtoken: set one with `privacy-desk tunnel set-token` (on stdin)",
            )
        })?;
    let running = connect(&token, cfg, gate)?;
    let state = State {
        url: running.url.clone(),
        forwards_to: IN_PROCESS.into(),
        pid: std::process::id(),
        started_at: now_ms(),
    };
    let (s, url) = (
        serde_json::to_string(&state).expect("state serialises"),
        running.url.clone(),
    );
    ctx.db.write(move |c| {
        settings::set(c, STATE_KEY, &s)?;
        settings::set(c, crate::domain::processors::PUBLIC_BASE_URL, &url)
    })?;
    crate::stripe_sync::update_registered_urls(ctx, &running.url)?;
    Ok(running)
}

/// Forgets the running tunnel (after it stopped).
pub fn stopped(ctx: &Context) -> Result<()> {
    ctx.db
        .write(|c| settings::set(c, STATE_KEY, "{}").map(|_| ()))
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(rename = "TunnelInfo")]
pub struct Status {
    pub token_set: bool,
    pub running: bool,
    pub url: Option<String>,
    pub forwards_to: Option<String>,
    pub started_at: Option<String>,
}

pub fn status(ctx: &Context) -> Result<Status> {
    let token_set = ctx.keychain.get_app(SecretKind::TunnelToken)?.is_some();
    let state = ctx
        .db
        .read(|c| settings::get(c, STATE_KEY))?
        .and_then(|s| serde_json::from_str::<State>(&s).ok())
        .filter(|s| process_alive(s.pid));
    Ok(Status {
        token_set,
        running: state.is_some(),
        url: state.as_ref().map(|s| s.url.clone()),
        forwards_to: state.as_ref().map(|s| s.forwards_to.clone()),
        started_at: state.as_ref().map(|s| to_rfc3339(s.started_at)),
    })
}

fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_without_echoing_them() {
        assert!(check_token(&Secret::new("2abcDEF_ghijklmnopqrstuvwxyz0123456789")).is_ok());
        for bad in [
            "short",
            "has spaces in the token value!!",
            "tok\nen_abcdefghijklmnopqrstu",
        ] {
            let e = check_token(&Secret::new(bad)).unwrap_err();
            assert!(!e.to_string().contains(bad));
        }
    }

    #[test]
    fn a_reserved_domain_must_be_a_host_name() {
        assert!(Config::new(None).is_ok());
        assert!(Config::new(Some("shop.ngrok.app".into())).is_ok());
        assert!(Config::new(Some("a b".into())).is_err());
        assert!(Config::new(Some("x/../y".into())).is_err());
    }

    #[test]
    fn offline_fails_fast_and_clearly() {
        // Port 1 on loopback refuses connections: what an offline laptop sees, minus DNS.
        let cfg = Config {
            domain: None,
            server_addr: Some("127.0.0.1:1".into()),
        };
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
        let rx = receiver::Receiver::start(&ctx, receiver::Config::gate_only()).unwrap();
        let t0 = std::time::Instant::now();
        let token = Secret::new("2abcDEF_ghijklmnopqrstuvwxyz0123456789");
        let e = match connect(&token, &cfg, rx.gate()) {
            Err(e) => e,
            Ok(_) => panic!("connected to nothing"),
        };
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        assert!(e.to_string().contains("cannot reach ngrok"), "{e}");
        assert!(!e.to_string().contains("2abcDEF"), "{e}");
    }
}
