//! `privacy-desk tunnel …`: the ngrok tunnel (see `tunnel`).

use std::io::Write;

use clap::Subcommand;

use super::output;
use privacy_desk_core::context::Context;
use privacy_desk_core::error::Result;
use privacy_desk_core::receiver::{self, Receiver};
use privacy_desk_core::secrets::Secret;
use privacy_desk_core::tunnel;

#[derive(Subcommand, Debug)]
pub enum TunnelCmd {
    /// Store the ngrok authtoken (read from stdin) in the keychain.
    SetToken,
    /// Open the tunnel and receive webhooks through it (in this process) until SIGINT/SIGTERM;
    /// prints the public URL. `serve --tunnel` also listens on a local port.
    Start {
        /// A reserved ngrok domain.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Whether a token is set and a tunnel runs, and its URL.
    Status,
}

pub fn run(ctx: &Context, cmd: TunnelCmd, json: bool) -> Result<()> {
    match cmd {
        TunnelCmd::SetToken => {
            let token = Secret::read_line(std::io::stdin(), "ngrok authtoken")?;
            tunnel::set_token(ctx, &token)?;
            if json {
                return output::json(&serde_json::json!({"token_set": true}));
            }
            println!("ngrok authtoken stored in the keychain");
            Ok(())
        }
        TunnelCmd::Start { domain } => {
            let cfg = tunnel::Config::new(domain)?;
            let rx = Receiver::start(ctx, receiver::Config::gate_only())?;
            let running = tunnel::start(ctx, &cfg, rx.gate())?;
            if json {
                output::json(&serde_json::json!({
                    "url": running.url,
                    "forwards_to": tunnel::IN_PROCESS,
                    "edge_policy": running.edge_policy,
                }))?;
            } else {
                println!("tunnel open: {} → {}", running.url, tunnel::IN_PROCESS);
            }
            let _ = std::io::stdout().flush();
            let waited = super::wait_for_shutdown_signal();
            drop(running);
            rx.shutdown();
            tunnel::stopped(ctx)?;
            waited
        }
        TunnelCmd::Status => {
            let s = tunnel::status(ctx)?;
            if json {
                return output::json(&s);
            }
            println!(
                "token {}; {}",
                if s.token_set { "set" } else { "not set" },
                match &s.url {
                    Some(u) => format!("running: {u}"),
                    None => "not running".into(),
                }
            );
            Ok(())
        }
    }
}
