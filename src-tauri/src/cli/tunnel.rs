//! `privacy-desk tunnel …`: the ngrok tunnel (see `tunnel`).

use std::io::Write;

use clap::Subcommand;

use super::output;
use crate::context::Context;
use crate::error::Result;
use crate::secrets::Secret;
use crate::tunnel;

#[derive(Subcommand, Debug)]
pub enum TunnelCmd {
    /// Store the ngrok authtoken (read from stdin) in the keychain.
    SetToken,
    /// Open the tunnel and keep it open until SIGINT/SIGTERM; prints the public URL.
    Start {
        /// The local receiver (`privacy-desk serve`).
        #[arg(long, default_value = "http://127.0.0.1:8787", value_name = "URL")]
        to: String,
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
        TunnelCmd::Start { to, domain } => {
            let cfg = tunnel::Config::new(&to, domain)?;
            let running = tunnel::start(ctx, &cfg)?;
            if json {
                output::json(&serde_json::json!({
                    "url": running.url,
                    "forwards_to": running.forwards_to,
                }))?;
            } else {
                println!("tunnel open: {} → {}", running.url, running.forwards_to);
            }
            let _ = std::io::stdout().flush();
            let waited = super::wait_for_shutdown_signal();
            drop(running);
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
