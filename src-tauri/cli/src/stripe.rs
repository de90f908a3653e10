//! `privacy-desk stripe …`: the Stripe API workflows (see `stripe_sync`).

use std::sync::atomic::AtomicBool;

use clap::Subcommand;

use super::output;
use privacy_desk_core::context::Context;
use privacy_desk_core::error::Result;
use privacy_desk_core::secrets::Secret;
use privacy_desk_core::stripe_sync;

#[derive(Subcommand, Debug)]
pub enum StripeCmd {
    /// Store the processor's Stripe API key (a restricted key, `rk_…`, on stdin).
    SetKey { processor_id: i64 },
    /// Probe the permissions the workflows need and say which workflows are enabled.
    Check { processor_id: i64 },
    /// Create (or update) the Stripe webhook endpoint for PUBLIC_BASE_URL + the webhook path.
    RegisterWebhook {
        processor_id: i64,
        #[arg(long, value_name = "PUBLIC_BASE_URL")]
        url: String,
    },
    /// Delete the processor's webhook endpoint at Stripe.
    UnregisterWebhook { processor_id: i64 },
    /// Fetch the events missed while the app was not reachable (30 days at most).
    CatchUp { processor_id: i64 },
    /// Import historical objects; resumes where an interrupted run stopped.
    Backfill {
        processor_id: i64,
        /// Comma-separated: customers, charges, payment_intents, invoices, subscriptions.
        #[arg(long, default_value = "customers")]
        resources: String,
        /// Start over instead of resuming (or re-importing a finished resource).
        #[arg(long)]
        restart: bool,
    },
    /// Fetch the customers that unlinked events name, to link them to data subjects.
    LookupCustomers { processor_id: i64 },
    /// Fetch the payloads of thin events.
    FetchThin { processor_id: i64 },
    /// Show or set how an erasure removes a customer at Stripe: `delete` (DELETE the
    /// customer, the default) or `redaction-job` (a Stripe redaction job, where the account
    /// has them).
    ErasureMethod {
        processor_id: i64,
        #[arg(value_name = "delete|redaction-job")]
        method: Option<String>,
    },
}

pub fn run(ctx: &Context, cmd: StripeCmd, json: bool) -> Result<()> {
    match cmd {
        StripeCmd::SetKey { processor_id } => {
            let key = Secret::read_line(std::io::stdin(), "Stripe API key")?;
            let r = stripe_sync::set_key(ctx, processor_id, key)?;
            if let Some(w) = &r.warning {
                eprintln!("warning: {w}");
            }
            if json {
                return output::json(&r);
            }
            println!(
                "{} key ({} mode) stored for processor {processor_id}",
                r.key_kind,
                if r.livemode { "live" } else { "test" }
            );
            Ok(())
        }
        StripeCmd::Check { processor_id } => {
            let c = stripe_sync::check(ctx, processor_id)?;
            if json {
                return output::json(&c);
            }
            let mode = if c.livemode { "live" } else { "test" };
            println!("{} key, {mode} mode", c.key_kind);
            for p in &c.permissions {
                println!(
                    "  {:<26} {}",
                    p.name,
                    yes_no(p.granted, "granted", "MISSING")
                );
            }
            for w in &c.workflows {
                println!(
                    "  {:<26} {}",
                    w.name,
                    yes_no(w.enabled, "enabled", "disabled")
                );
            }
            Ok(())
        }
        StripeCmd::RegisterWebhook { processor_id, url } => {
            let r = stripe_sync::register_webhook(ctx, processor_id, &url)?;
            if r.needs_signing_secret {
                eprintln!("warning: {}", stripe_sync::SECRET_MISSING);
            }
            if json {
                return output::json(&r);
            }
            println!(
                "webhook endpoint {} {} ({} events){}",
                r.webhook_endpoint_id,
                r.action,
                r.enabled_events.len(),
                if r.signing_secret_stored {
                    "; signing secret stored in the keychain"
                } else {
                    ""
                }
            );
            Ok(())
        }
        StripeCmd::UnregisterWebhook { processor_id } => {
            let removed = stripe_sync::unregister_webhook(ctx, processor_id)?;
            if json {
                return output::json(&serde_json::json!({"removed": removed}));
            }
            println!(
                "{}",
                if removed {
                    "webhook endpoint deleted at Stripe"
                } else {
                    "no webhook endpoint was registered"
                }
            );
            Ok(())
        }
        StripeCmd::CatchUp { processor_id } => {
            let c = stripe_sync::catch_up(ctx, processor_id)?;
            if json {
                return output::json(&c);
            }
            println!(
                "fetched {}, new {}, duplicates {}",
                c.fetched, c.new, c.duplicates
            );
            Ok(())
        }
        StripeCmd::Backfill {
            processor_id,
            resources,
            restart,
        } => {
            let list = stripe_sync::parse_resources(&resources)?;
            let cancel = AtomicBool::new(false);
            let r = stripe_sync::backfill(ctx, processor_id, &list, restart, &cancel, &mut |p| {
                eprintln!(
                    "{}: {} imported, page {}{}",
                    p.resource,
                    p.imported,
                    p.pages,
                    if p.done { ", done" } else { "" }
                );
            })?;
            if json {
                return output::json(&r);
            }
            for x in &r.resources {
                println!(
                    "{}: fetched {}, new {}, duplicates {}, {} in total{}",
                    x.resource,
                    x.fetched,
                    x.new,
                    x.duplicates,
                    x.imported_total,
                    if x.done { " (complete)" } else { "" }
                );
            }
            Ok(())
        }
        StripeCmd::LookupCustomers { processor_id } => {
            let r = stripe_sync::lookup_customers(ctx, processor_id)?;
            if json {
                return output::json(&r);
            }
            println!("looked up {}, missing at Stripe {}", r.looked_up, r.missing);
            Ok(())
        }
        StripeCmd::ErasureMethod {
            processor_id,
            method,
        } => {
            let m = match method {
                Some(m) => stripe_sync::set_erasure_method(
                    ctx,
                    processor_id,
                    stripe_sync::ErasureMethod::parse(&m)?,
                )?,
                None => stripe_sync::erasure_method(ctx, processor_id)?,
            };
            if json {
                return output::json(&serde_json::json!({
                    "processor_id": processor_id,
                    "erasure_method": m,
                }));
            }
            println!(
                "processor {processor_id} erases at Stripe by {}",
                m.as_str()
            );
            Ok(())
        }
        StripeCmd::FetchThin { processor_id } => {
            let r = stripe_sync::fetch_thin_events(ctx, processor_id)?;
            if json {
                return output::json(&r);
            }
            println!("fetched {}, missing at Stripe {}", r.fetched, r.missing);
            Ok(())
        }
    }
}

fn yes_no(b: bool, yes: &'static str, no: &'static str) -> &'static str {
    if b {
        yes
    } else {
        no
    }
}
