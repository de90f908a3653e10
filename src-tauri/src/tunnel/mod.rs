//! The ngrok tunnel: gives the local webhook receiver a public HTTPS URL that Stripe can
//! reach. The authtoken lives only in the keychain (`tunnel set-token`). While a tunnel runs,
//! its URL is the public base URL and is pushed to the Stripe webhook endpoints registered
//! before (see `stripe_sync::update_registered_urls`).
//!
//! `Session::connect` has no timeout of its own: it is wrapped in `tokio::time::timeout`, and
//! offline it fails in milliseconds with a DNS or connection error, reported as such.

use std::time::Duration;

use ngrok::config::ForwarderBuilder;
use ngrok::forwarder::Forwarder;
use ngrok::tunnel::{EndpointInfo, HttpTunnel};
use ngrok::Error as _;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::secrets::{Secret, SecretKind};
use crate::store::settings;
use crate::time::{now_ms, to_rfc3339};

/// Overrides the ngrok server address (`host:port`): tests, or an ngrok-compatible server.
pub const SERVER_ENV: &str = "PRIVACY_DESK_NGROK_SERVER";
/// How long `tunnel start` waits for ngrok before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Settings key of the running tunnel's state (URL, pid; no secrets).
const STATE_KEY: &str = "tunnel_state";

/// Checks the shape of an ngrok authtoken; the message never quotes it.
pub fn check_token(token: &Secret) -> Result<()> {
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
#[derive(Debug, Clone)]
pub struct Config {
    /// The local receiver, e.g. `http://127.0.0.1:8787`.
    pub forward_to: url::Url,
    /// A reserved ngrok domain, if the account has one.
    pub domain: Option<String>,
    /// The ngrok server (`host:port`); `None` for ngrok's own. From [`SERVER_ENV`].
    pub server_addr: Option<String>,
}

impl Config {
    pub fn new(forward_to: &str, domain: Option<String>) -> Result<Config> {
        let url = url::Url::parse(forward_to)
            .ok()
            .filter(|u| u.scheme() == "http" && u.host().is_some())
            .ok_or_else(|| {
                Error::invalid(
                    "--to must be the local receiver's http URL, e.g. http://127.0.0.1:8787",
                )
            })?;
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
            forward_to: url,
            domain,
            server_addr: std::env::var(SERVER_ENV).ok().filter(|s| !s.is_empty()),
        })
    }
}

/// A running tunnel; dropping it closes the tunnel.
pub struct Running {
    pub url: String,
    pub forwards_to: String,
    forwarder: Option<Forwarder<HttpTunnel>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Running {
    /// Blocks until the forwarder ends (the session was closed by ngrok).
    pub fn wait(&mut self) {
        if let (Some(rt), Some(f)) = (&self.runtime, self.forwarder.as_mut()) {
            let _ = rt.block_on(f.join());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            drop(self.forwarder.take());
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// Connects to ngrok with `token` and forwards a public URL to `cfg.forward_to`.
pub fn connect(token: &Secret, cfg: &Config) -> Result<Running> {
    // Two rustls crypto providers are linked in (reqwest's, ngrok's): name the one to use, or
    // rustls panics when ngrok builds its TLS config. Fails harmlessly when already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tunnel")
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the tunnel runtime: {e}")))?;
    let forwarder = rt.block_on(connect_async(token, cfg))?;
    Ok(Running {
        url: forwarder.url().to_owned(),
        forwards_to: cfg.forward_to.to_string(),
        forwarder: Some(forwarder),
        runtime: Some(rt),
    })
}

async fn connect_async(token: &Secret, cfg: &Config) -> Result<Forwarder<HttpTunnel>> {
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
    let mut endpoint = session.http_endpoint();
    endpoint.forwards_to(cfg.forward_to.to_string());
    if let Some(d) = &cfg.domain {
        endpoint.domain(d.clone());
    }
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        endpoint.listen_and_forward(cfg.forward_to.clone()),
    )
    .await
    {
        Err(_) => Err(Error::Unavailable(
            "ngrok did not open the tunnel in time: try again".into(),
        )),
        Ok(Err(e)) => Err(Error::Unavailable(format!(
            "ngrok refused to open the tunnel ({}): check the reserved domain and your plan",
            e.error_code().unwrap_or("no error code")
        ))),
        Ok(Ok(f)) => Ok(f),
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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    url: String,
    forwards_to: String,
    pid: u32,
    started_at: i64,
}

/// Starts the tunnel with the keychain's token, records its URL as the public base URL, and
/// pushes it to the registered Stripe webhook endpoints.
pub fn start(ctx: &Context, cfg: &Config) -> Result<Running> {
    let token = ctx
        .keychain
        .get_app(SecretKind::TunnelToken)?
        .ok_or_else(|| {
            Error::not_found(
                "no ngrok authtoken: set one with `privacy-desk tunnel set-token` (on stdin)",
            )
        })?;
    let running = connect(&token, cfg)?;
    let state = State {
        url: running.url.clone(),
        forwards_to: running.forwards_to.clone(),
        pid: std::process::id(),
        started_at: now_ms(),
    };
    let (s, url) = (
        serde_json::to_string(&state).expect("state serialises"),
        running.url.clone(),
    );
    ctx.db.write(move |c| {
        settings::set(c, STATE_KEY, &s)?;
        settings::set(c, crate::processors::PUBLIC_BASE_URL, &url)
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
    fn config_wants_a_local_http_url() {
        assert!(Config::new("http://127.0.0.1:8787", None).is_ok());
        assert!(Config::new("ftp://x", None).is_err());
        assert!(Config::new("http://127.0.0.1:8787", Some("a b".into())).is_err());
    }

    #[test]
    fn offline_fails_fast_and_clearly() {
        // Port 1 on loopback refuses connections: what an offline laptop sees, minus DNS.
        let mut cfg = Config::new("http://127.0.0.1:8787", None).unwrap();
        cfg.server_addr = Some("127.0.0.1:1".into());
        let t0 = std::time::Instant::now();
        let e = match connect(&Secret::new("2abcDEF_ghijklmnopqrstuvwxyz0123456789"), &cfg) {
            Err(e) => e,
            Ok(_) => panic!("connected to nothing"),
        };
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        assert!(e.to_string().contains("cannot reach ngrok"), "{e}");
        assert!(!e.to_string().contains("2abcDEF"), "{e}");
    }
}
