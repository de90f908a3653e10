//! The command line of CONTRACT.md: clap definitions and thin handlers over the core's
//! workflows. Both executables run it: `privacy-desk` (headless) and `privacy-desk-gui` (the
//! window); each says what "no subcommand" means by the `open_window` it passes to [`run`].

mod audit;
mod backup;
mod dsr;
mod output;
mod ropa;
mod stripe;
mod tunnel;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use output::{opt, table};
use privacy_desk_core::context::{default_data_dir, Context};
use privacy_desk_core::domain::{activity, deliveries, processors, subjects};
use privacy_desk_core::error::{Error, Result};
use privacy_desk_core::jobs::{self, Scheduler};
use privacy_desk_core::receiver;
use privacy_desk_core::secrets::Secret;

#[derive(Parser, Debug)]
#[command(
    name = "privacy-desk",
    version,
    about = "Privacy Desk: GDPR/CCPA records and requests for a small business. \
             Without a subcommand the desktop window opens."
)]
pub struct Cli {
    /// Where the database and exports live.
    #[arg(long, global = true, env = "PRIVACY_DESK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print exactly one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Started at login (the autostart entry): the window starts hidden, receiving from the
    /// tray.
    #[arg(long, hide = true)]
    pub at_login: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the webhook receiver and background jobs until SIGINT/SIGTERM.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
        listen: SocketAddr,
        /// Also receive through the ngrok tunnel, served in this process (token from
        /// `tunnel set-token`).
        #[arg(long)]
        tunnel: bool,
    },
    /// Processors: Stripe, other systems by webhook, manual entries.
    #[command(subcommand)]
    Processor(ProcessorCmd),
    /// The Processing Activity Log.
    #[command(subcommand)]
    Activity(ActivityCmd),
    /// Data subjects.
    #[command(subcommand)]
    Subjects(SubjectsCmd),
    /// Requests the receiver answered, for troubleshooting.
    #[command(subcommand)]
    Deliveries(DeliveriesCmd),
    /// The Stripe API: key, permissions, webhook registration, catch-up, backfill.
    #[command(subcommand)]
    Stripe(stripe::StripeCmd),
    /// The ngrok tunnel that gives the receiver a public URL.
    #[command(subcommand)]
    Tunnel(tunnel::TunnelCmd),
    /// The organisation profile: the controller named in the RoPA.
    #[command(subcommand)]
    Org(ropa::OrgCmd),
    /// Records of Processing Activities (GDPR Art. 30): show, export, edit.
    #[command(subcommand)]
    Ropa(ropa::RopaCmd),
    /// Data subject requests: access packages, erasure, deadlines.
    #[command(subcommand)]
    Dsr(dsr::DsrCmd),
    /// The hash-chained audit trail of requests and their steps.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Back up everything into one encrypted file (passphrase from stdin), while receiving.
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Also carry the processors' signing secrets, URL tokens, API keys and the ngrok
        /// authtoken, so a restore needs no re-onboarding (the audit key always goes in).
        #[arg(long)]
        include_credentials: bool,
    },
    /// Restore a backup into an empty data directory (passphrase from stdin).
    Restore { file: PathBuf },
    /// Is everything all right? The database's integrity, the audit chain, the keychain, the
    /// receiver, the last backup, free disk space; then keychain entries nothing will read
    /// again (orphans) and other installs. Exit 1 when a check finds a problem.
    Doctor {
        /// Delete the orphaned entries listed (this install's, and those of installs whose
        /// data directory was deleted or recreated).
        #[arg(long)]
        remove_orphans: bool,
        /// Delete every entry of another install's namespace (one listed as `unknown`).
        #[arg(long = "remove-namespace", value_name = "NAMESPACE")]
        remove_namespace: Vec<String>,
    },
    /// The background jobs (run by `serve` and the window): last run, next run, last error,
    /// and the events that wait for a Stripe API key.
    Jobs,
}

#[derive(Subcommand, Debug)]
pub enum ProcessorCmd {
    /// Add a processor.
    #[command(subcommand)]
    Add(AddCmd),
    /// Replace a processor's webhook signing secret (read from stdin).
    SetSecret {
        id: i64,
    },
    List,
    Show {
        id: i64,
    },
    /// Rename a processor (recorded in the audit trail).
    Rename {
        id: i64,
        name: String,
    },
    /// Remove a processor: its events stay in the log, its webhook URL is refused from now on,
    /// its keychain entries are deleted (and its webhook endpoint at Stripe, when it has a key).
    Remove {
        id: i64,
        /// Confirms the removal (required).
        #[arg(long)]
        yes: bool,
    },
    /// The removed processors.
    Removed,
}

#[derive(Subcommand, Debug)]
pub enum AddCmd {
    /// Stripe: a webhook endpoint with its own URL and token.
    Stripe {
        #[arg(long)]
        name: Option<String>,
        /// Read the `whsec_…` signing secret from stdin.
        #[arg(long)]
        signing_secret_stdin: bool,
    },
    /// A processor with no integration, recorded for the RoPA.
    Manual {
        #[arg(long)]
        name: String,
    },
    /// Another system's webhooks, signed with HMAC-SHA256 of the raw body (with `--timestamp`:
    /// of a delivery id and timestamp with the body, as Standard Webhooks).
    Webhook(Box<ropa::WebhookArgs>),
}

#[derive(Subcommand, Debug)]
pub enum ActivityCmd {
    /// Events, newest first.
    List(ActivityArgs),
}

#[derive(Args, Debug)]
pub struct ActivityArgs {
    #[arg(long)]
    source: Option<String>,
    /// Event type, `*` as wildcard: `customer.*`.
    #[arg(long = "type", value_name = "GLOB")]
    event_type: Option<String>,
    /// A data subject's current or earlier email.
    #[arg(long, value_name = "EMAIL")]
    subject: Option<String>,
    /// RFC 3339 or YYYY-MM-DD (inclusive).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// RFC 3339 or YYYY-MM-DD (a date includes the whole day).
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// pending, linked, unlinked, no_subject or awaiting_fetch.
    #[arg(long)]
    status: Option<String>,
    #[arg(long, default_value_t = 1000)]
    limit: u32,
}

#[derive(Subcommand, Debug)]
pub enum SubjectsCmd {
    List,
    /// One subject, by current or earlier email.
    Show {
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeliveriesCmd {
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// What a binary does when no subcommand is given (the window opens, one way or another):
/// with the data directory, and whether it was started at login.
pub type OpenWindow = fn(&std::path::Path, bool) -> Result<()>;

/// Runs the parsed command line; returns the process exit status.
pub fn run(cli: Cli, open_window: OpenWindow) -> i32 {
    init_logging(cli.command.is_some());
    let result = (|| {
        let dir = match &cli.data_dir {
            Some(d) => d.clone(),
            None => default_data_dir()?,
        };
        match cli.command {
            None => open_window(&dir, cli.at_login),
            // Into an empty data directory: no database may be opened there first.
            Some(Command::Restore { file }) => backup::restore(&dir, &file, cli.json),
            Some(cmd) => dispatch(cmd, &dir, cli.json),
        }
    })();
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn init_logging(headless: bool) {
    let default = if headless { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PRIVACY_DESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if headless {
        let _ = builder.try_init();
    } else {
        // The window's log plugin installs the `log` crate's logger; `try_init` would take it
        // first (tracing-log's bridge) and the window would fail to start.
        let _ = tracing::subscriber::set_global_default(builder.finish());
    }
}

fn dispatch(cmd: Command, dir: &std::path::Path, json: bool) -> Result<()> {
    let ctx = Context::open(dir)?;
    let out = match cmd {
        Command::Serve { listen, tunnel } => serve(&ctx, listen, tunnel),
        Command::Processor(p) => processor(&ctx, p, json),
        Command::Activity(ActivityCmd::List(a)) => activity_list(&ctx, a, json),
        Command::Subjects(s) => subjects_cmd(&ctx, s, json),
        Command::Stripe(s) => stripe::run(&ctx, s, json),
        Command::Tunnel(t) => tunnel::run(&ctx, t, json),
        Command::Org(o) => ropa::org(&ctx, o, json),
        Command::Ropa(r) => ropa::run(&ctx, r, json),
        Command::Dsr(d) => dsr::run(&ctx, d, json),
        Command::Audit(a) => audit::run(&ctx, a, json),
        Command::Backup {
            out,
            include_credentials,
        } => backup::create(&ctx, &out, include_credentials, json),
        Command::Restore { .. } => unreachable!("restore runs before a database is opened"),
        Command::Doctor {
            remove_orphans,
            remove_namespace,
        } => {
            let remove = privacy_desk_core::doctor::Remove {
                orphans: remove_orphans,
                namespaces: remove_namespace,
            };
            backup::doctor(&ctx, &remove, json)
        }
        Command::Jobs => jobs_cmd(&ctx, json),
        Command::Deliveries(DeliveriesCmd::List { limit }) => {
            let rows = deliveries::list(&ctx.db, limit, false, None)?;
            if json {
                return output::json(&rows);
            }
            table(
                &[
                    "received",
                    "status",
                    "outcome",
                    "processor",
                    "event",
                    "reason",
                ],
                rows.iter()
                    .map(|d| {
                        vec![
                            d.received_at.clone(),
                            d.status_code.to_string(),
                            d.outcome.clone(),
                            d.processor_id.map(|p| p.to_string()).unwrap_or("-".into()),
                            opt(&d.event_id),
                            opt(&d.reason),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
    };
    ctx.db.shutdown();
    out
}

/// `doctor`'s keychain housekeeping, for people.
pub(crate) fn keychain_report(r: &privacy_desk_core::doctor::Report) {
    println!(
        "install {} (keychain namespace {})",
        r.install_id, r.keychain_namespace
    );
    if r.keychain_listing != "complete" {
        println!("this platform's keychain cannot list its entries: orphans cannot be found");
        return;
    }
    println!("{} keychain entries in use", r.entries);
    println!("\norphaned keychain entries:");
    table(
        &["entry", "reason", "data dir"],
        r.orphans
            .iter()
            .map(|o| vec![o.entry.clone(), o.reason.to_owned(), opt(&o.data_dir)])
            .collect(),
    );
    println!("\nother installs:");
    table(
        &["namespace", "status", "entries", "data dir"],
        r.other_installs
            .iter()
            .map(|i| {
                vec![
                    i.namespace.clone(),
                    i.status.to_owned(),
                    i.entries.to_string(),
                    opt(&i.data_dir),
                ]
            })
            .collect(),
    );
    if !r.removed.is_empty() {
        println!("\nremoved {} entries", r.removed.len());
    } else if !r.orphans.is_empty() {
        println!("\nremove the orphans with `privacy-desk doctor --remove-orphans`");
    }
}

fn serve(ctx: &Context, listen: SocketAddr, with_tunnel: bool) -> Result<()> {
    // The same background jobs as the window's, but no reminders: nobody would see them.
    let jobs = Scheduler::start(ctx, jobs::Options::default())?;
    let mut cfg = receiver::Config::new(listen);
    jobs.nudger().nudge_from(&mut cfg.hooks);
    let rx = receiver::Receiver::start(ctx, cfg)?;
    if let Some(addr) = rx.local_addr() {
        println!("listening on http://{addr}");
    }
    let _ = std::io::stdout().flush();
    let tunnel = if with_tunnel {
        let running = privacy_desk_core::tunnel::start(
            ctx,
            &privacy_desk_core::tunnel::Config::new(None)?,
            rx.gate(),
        )?;
        println!("tunnel open: {}", running.url);
        let _ = std::io::stdout().flush();
        Some(running)
    } else {
        None
    };
    wait_for_shutdown_signal()?;
    eprintln!("shutting down: finishing requests in flight");
    // A Stripe request in flight is not waited for: each job commits as it goes and resumes
    // next time.
    jobs.shutdown();
    if let Some(t) = tunnel {
        drop(t);
        privacy_desk_core::tunnel::stopped(ctx)?;
    }
    rx.shutdown();
    Ok(())
}

fn jobs_cmd(ctx: &Context, json: bool) -> Result<()> {
    let report = jobs::report(ctx)?;
    if json {
        return output::json(&report);
    }
    table(
        &["job", "last run", "next run", "failures", "last outcome"],
        report
            .jobs
            .iter()
            .map(|j| {
                vec![
                    j.name.as_str().to_owned(),
                    opt(&j.last_run_at),
                    j.next_run_at
                        .clone()
                        .unwrap_or_else(|| "not scheduled".into()),
                    j.failures.to_string(),
                    j.last_error.clone().unwrap_or_else(|| j.summary.clone()),
                ]
            })
            .collect(),
    );
    if report.jobs.iter().all(|j| j.next_run_at.is_none()) {
        println!("\nnothing runs them now: start `privacy-desk serve` or the desktop app");
    }
    for w in &report.waiting {
        let what: Vec<String> = [
            (w.unknown_customers, "customer lookup", "customer lookups"),
            (w.thin_events, "thin event", "thin events"),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
        .collect();
        println!(
            "\nprocessor {} has {} waiting for an API key: {}",
            w.processor_id,
            what.join(" and "),
            w.fix
        );
    }
    Ok(())
}

fn wait_for_shutdown_signal() -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot wait for signals: {e}")))?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate())
                .map_err(|e| Error::Io(format!("cannot wait for SIGTERM: {e}")))?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        Ok(())
    })
}

fn processor(ctx: &Context, cmd: ProcessorCmd, json: bool) -> Result<()> {
    let print = |p: &processors::Processor| {
        if json {
            return output::json(p);
        }
        println!("{} #{} ({}) — {}", p.name, p.id, p.kind, p.status);
        if let Some(url) = &p.webhook_url {
            println!("webhook URL: {url}");
        }
        Ok(())
    };
    match cmd {
        ProcessorCmd::Add(AddCmd::Stripe {
            name,
            signing_secret_stdin,
        }) => {
            let secret = if signing_secret_stdin {
                Some(Secret::read_line(std::io::stdin(), "signing secret")?)
            } else {
                None
            };
            print(&processors::add_stripe(ctx, name.as_deref(), secret)?)
        }
        ProcessorCmd::Add(AddCmd::Manual { name }) => print(&processors::add_manual(ctx, &name)?),
        ProcessorCmd::Add(AddCmd::Webhook(w)) => print(&ropa::add_webhook(ctx, *w)?),
        ProcessorCmd::SetSecret { id } => {
            let secret = Secret::read_line(std::io::stdin(), "signing secret")?;
            processors::set_signing_secret(ctx, id, &secret)?;
            if json {
                return output::json(&serde_json::json!({"id": id, "updated": true}));
            }
            println!("signing secret of processor {id} replaced");
            Ok(())
        }
        ProcessorCmd::Show { id } => print(&processors::show(ctx, id)?),
        ProcessorCmd::Rename { id, name } => print(&processors::rename(ctx, id, &name)?),
        ProcessorCmd::Remove { id, yes } => {
            if !yes {
                return Err(Error::invalid(format!(
                    "removing processor {id} stops its webhooks and deletes its keychain \
                     entries (its events stay in the log): run again with --yes to confirm"
                )));
            }
            let removed = privacy_desk_core::stripe_sync::remove_processor(ctx, id)?;
            if json {
                return output::json(&removed);
            }
            println!(
                "{} #{} removed; its events stay in the Processing Activity Log",
                removed.processor.name, removed.processor.id
            );
            if let Some(w) = &removed.stripe_webhook {
                println!("{w}");
            }
            Ok(())
        }
        ProcessorCmd::List | ProcessorCmd::Removed => {
            let all = if matches!(cmd, ProcessorCmd::Removed) {
                processors::list_removed(ctx)?
            } else {
                processors::list(ctx)?
            };
            if json {
                return output::json(&all);
            }
            table(
                &["id", "name", "kind", "status", "last event", "webhook url"],
                all.iter()
                    .map(|p| {
                        vec![
                            p.id.to_string(),
                            p.name.clone(),
                            p.kind.to_string(),
                            p.status.to_string(),
                            opt(&p.last_event_at),
                            opt(&p.webhook_url),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
    }
}

fn activity_list(ctx: &Context, a: ActivityArgs, json: bool) -> Result<()> {
    let q = activity::ActivityQuery {
        source: a.source,
        event_type: a.event_type,
        subject: a.subject,
        since: a.since,
        until: a.until,
        status: a.status,
        cursor: None,
        limit: a.limit,
    };
    let rows = activity::list(&ctx.db, &q)?;
    if json {
        return output::json(&rows);
    }
    table(
        &["occurred", "type", "subject", "status", "event id"],
        rows.iter()
            .map(|r| {
                vec![
                    r.occurred_at.clone(),
                    r.event_type.clone(),
                    opt(&r.subject_email),
                    r.status.clone(),
                    r.event_id.clone(),
                ]
            })
            .collect(),
    );
    Ok(())
}

fn subjects_cmd(ctx: &Context, cmd: SubjectsCmd, json: bool) -> Result<()> {
    match cmd {
        SubjectsCmd::List => {
            let all = subjects::list(&ctx.db)?;
            if json {
                return output::json(&all);
            }
            table(
                &["id", "email", "name", "events", "since", "status"],
                all.iter()
                    .map(|s| {
                        vec![
                            s.id.to_string(),
                            s.email.clone(),
                            opt(&s.name),
                            s.activity_count.to_string(),
                            s.created_at.clone(),
                            s.status.clone(),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        SubjectsCmd::Show { email } => {
            let d = subjects::show(&ctx.db, &email)?;
            if json {
                return output::json(&d);
            }
            let s = &d.subject;
            println!("{} (#{}) — {}", s.email, s.id, s.status);
            println!("name: {}", opt(&s.name));
            println!("events: {}, first seen {}", s.activity_count, s.created_at);
            for e in &d.emails {
                let until = e.replaced_at.as_deref().unwrap_or("now");
                println!("email: {} ({} – {until})", e.email, e.first_seen_at);
            }
            for x in &d.external_ids {
                println!("processor {}: {}", x.processor_id, x.external_id);
            }
            Ok(())
        }
    }
}
