//! `privacy-desk dsr …`: data subject requests (see `privacy_desk_core::requests`).

use std::path::PathBuf;

use clap::Subcommand;

use super::output::{self, opt, table};
use privacy_desk_core::context::Context;
use privacy_desk_core::error::{Error, Result};
use privacy_desk_core::jobs::{self, Job};
use privacy_desk_core::requests::access::review;
use privacy_desk_core::requests::{self, access, erasure, Kind, Regime};
use privacy_desk_core::time::count_of;

#[derive(Subcommand, Debug)]
pub enum DsrCmd {
    /// Record a new request: access or erasure.
    New {
        /// access, erasure (rectification and portability are tracked too).
        kind: String,
        #[arg(long)]
        email: String,
        /// gdpr, uk-gdpr or ccpa.
        #[arg(long, default_value = "gdpr")]
        regime: String,
        /// When it was received: RFC 3339 or YYYY-MM-DD (default: now).
        #[arg(long, value_name = "DATE")]
        received: Option<String>,
    },
    /// The inbox: open requests by days left, then closed ones.
    List,
    /// One request and its steps.
    Show { id: i64 },
    /// Extend the deadline (once, within the first period, with a reason).
    Extend {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Record how the requester's identity was verified.
    VerifyIdentity {
        id: i64,
        #[arg(long)]
        method: String,
    },
    /// Add a note.
    Note {
        id: i64,
        #[arg(long)]
        text: String,
    },
    /// Reject the request, with the reason.
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Mark the request answered. Before its next step is done (`dsr show` says which),
    /// this closes it early and needs --reason.
    Complete {
        id: i64,
        /// Why it is closed now, e.g. "answered outside Privacy Desk", "withdrawn by the
        /// person" (recorded as a note and in the audit trail).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Write the access package (.zip) into DIR.
    Access {
        id: i64,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Why the package is built although the requester's identity is not verified
        /// (recorded in the audit trail). Without it an unverified request is still built,
        /// with a warning, and the audit trail records that it was built from the command
        /// line without a verified identity.
        #[arg(long, value_name = "TEXT")]
        unverified_reason: Option<String>,
    },
    /// The access package built, for review before it is released: every record by category
    /// with its id (what `dsr withhold` names), and what is withheld.
    Review { id: i64 },
    /// Withhold a record of the access package, or one of its fields, from the release (GDPR
    /// Art. 15(4)); recorded in the audit trail with the ids and the ground, never the values.
    Withhold {
        id: i64,
        /// The record, as `dsr review` names it (e.g. activity:evt_…).
        #[arg(long)]
        record: String,
        /// Only this field of the record (e.g. personal_data.name).
        #[arg(long)]
        field: Option<String>,
        /// other_person (another person's data), legal_privilege, or other (with --text).
        #[arg(long)]
        ground: String,
        /// The reason in words (required with --ground other; the cover letter gives it).
        #[arg(long, value_name = "TEXT")]
        text: Option<String>,
    },
    /// Take back a withholding before the release.
    Unwithhold {
        id: i64,
        #[arg(long)]
        record: String,
        #[arg(long)]
        field: Option<String>,
    },
    /// Release the reviewed access package: rebuilt without what is withheld, into DIR
    /// (default: where it was built, replacing it).
    Release {
        id: i64,
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Record that a blocked item of the erasure plan was resolved at Stripe by hand (an
    /// invoice voided, a subscription cancelled, the customer deleted in the dashboard while
    /// no API key is set); prints the plan as it is now.
    Resolve {
        id: i64,
        /// The blocked item, as the plan names it (e.g. stripe:invoice:in_…).
        #[arg(long)]
        target: String,
        /// What you did at Stripe.
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
    /// Show the erasure plan (--plan) or execute it (--yes); a run that stopped resumes.
    Erase {
        id: i64,
        #[arg(long, conflicts_with = "yes")]
        plan: bool,
        #[arg(long)]
        yes: bool,
    },
    /// Write the erasure receipt for the data subject (HTML, or JSON for a .json FILE).
    Receipt {
        id: i64,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Requests due in 7 or 2 days, or overdue.
    Reminders {
        /// Only those not shown before, and mark them shown (as the app's notifications do).
        #[arg(long)]
        new: bool,
    },
    /// How long pseudonymised financial records are kept after an erasure.
    Retention {
        #[arg(long, conflicts_with = "preset")]
        years: Option<u32>,
        /// default (7), de (10), fr (10), uk (6), us (7).
        #[arg(long)]
        preset: Option<String>,
    },
}

fn print_request(r: &requests::Request, json: bool) -> Result<()> {
    if json {
        return output::json(r);
    }
    println!(
        "request #{} — {} ({}) — {}",
        r.id, r.kind, r.regime, r.status
    );
    println!("subject: {}", r.email);
    println!("received: {}", r.received_at);
    println!("due: {} ({} days left)", r.due_at, r.days_left);
    if let Some(reason) = &r.extension_reason {
        println!("extended: {reason}");
    }
    if let Some(m) = &r.identity_method {
        println!("identity verified: {m} ({})", opt(&r.identity_verified_at));
    }
    if !r.notes.is_empty() {
        println!("notes:\n{}", r.notes);
    }
    Ok(())
}

/// The reason recorded for a package built with `dsr access` for an unverified identity when
/// no `--unverified-reason` is given.
const CLI_UNVERIFIED_REASON: &str = "built from the command line without a verified identity";

fn print_plan(p: &erasure::Plan) {
    table(
        &["action", "target", "retain until", "reason"],
        p.items
            .iter()
            .map(|i| {
                vec![
                    i.action.as_str().to_owned(),
                    i.target.clone(),
                    opt(&i.retain_until),
                    i.reason.clone(),
                ]
            })
            .collect(),
    );
    if p.blocked {
        println!(
            "blocked: resolve the blocked items (at Stripe; then `privacy-desk dsr resolve ID \
             --target T --note TEXT` records what you did), then plan again"
        );
    }
}

fn print_review(r: &review::Review) {
    if !r.state.built {
        println!("no access package built yet: `privacy-desk dsr access ID --out DIR` builds it");
        return;
    }
    println!("{}", opt(&r.path));
    match &r.released_at {
        Some(at) => println!("released {at}"),
        None => println!("not released yet: review, withhold what must be, then `dsr release`"),
    }
    let mut rows = Vec::new();
    for c in &r.categories {
        for rec in &c.records {
            let withheld = if rec.withheld {
                "withheld".to_owned()
            } else if rec.withheld_fields.is_empty() {
                String::new()
            } else {
                format!("fields withheld: {}", rec.withheld_fields.join(", "))
            };
            rows.push(vec![c.name.clone(), rec.id.clone(), withheld]);
        }
    }
    table(&["category", "record", "withheld"], rows);
    for w in &r.withheld {
        println!(
            "withheld {}{}: {}{}",
            w.record_id,
            w.field
                .as_ref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default(),
            w.ground_label,
            w.text
                .as_ref()
                .map(|t| format!(" — {t}"))
                .unwrap_or_default()
        );
    }
}

pub fn run(ctx: &Context, cmd: DsrCmd, json: bool) -> Result<()> {
    // Retained financial records whose retention ended go first.
    if let Err(e) = jobs::run_once(ctx, Job::Retention, &jobs::Options::default()) {
        tracing::warn!(error = %e, "purging expired retained records failed");
    }
    match cmd {
        DsrCmd::New {
            kind,
            email,
            regime,
            received,
        } => {
            let r = requests::create(
                ctx,
                requests::NewRequest {
                    kind: Kind::parse(&kind)?,
                    email,
                    regime: Regime::parse(&regime)?,
                    received,
                },
            )?;
            print_request(&r, json)
        }
        DsrCmd::List => {
            let all = requests::list(ctx)?;
            if json {
                return output::json(&all);
            }
            table(
                &[
                    "id",
                    "kind",
                    "subject",
                    "regime",
                    "status",
                    "due",
                    "days left",
                ],
                all.iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            r.kind.to_string(),
                            r.email.clone(),
                            r.regime.clone(),
                            r.status.to_string(),
                            r.due_at.clone(),
                            r.days_left.to_string(),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        DsrCmd::Show { id } => {
            let p = requests::page(ctx, id)?;
            if json {
                return output::json(&p);
            }
            print_request(&p.request, false)?;
            if p.next_step.key != requests::StepKey::None {
                println!("next step: {} — {}", p.next_step.label, p.next_step.why);
            }
            for s in &p.steps {
                println!("  {}  {:<6} {}", s.at, s.actor, s.action);
            }
            Ok(())
        }
        DsrCmd::Extend { id, reason } => print_request(&requests::extend(ctx, id, &reason)?, json),
        DsrCmd::VerifyIdentity { id, method } => {
            print_request(&requests::verify_identity(ctx, id, &method)?, json)
        }
        DsrCmd::Note { id, text } => print_request(&requests::add_note(ctx, id, &text)?, json),
        DsrCmd::Reject { id, reason } => print_request(&requests::reject(ctx, id, &reason)?, json),
        DsrCmd::Complete { id, reason } => {
            print_request(&requests::complete(ctx, id, reason.as_deref())?, json)
        }
        DsrCmd::Access {
            id,
            out,
            unverified_reason,
        } => {
            if requests::identity_override_needed(ctx, id)? {
                let reason = unverified_reason.unwrap_or_else(|| {
                    eprintln!(
                        "warning: request {id}: the requester's identity is not verified; the \
                         package is built anyway and the audit trail records that (give \
                         --unverified-reason TEXT to record why, or verify first with \
                         `privacy-desk dsr verify-identity {id} --method TEXT`)"
                    );
                    CLI_UNVERIFIED_REASON.to_owned()
                });
                requests::override_identity(ctx, id, &reason)?;
            }
            let p = access::build(ctx, id, &out, &mut |_| {})?;
            if json {
                return output::json(&p);
            }
            println!("{}", p.path);
            println!("sha256 {}", p.sha256);
            match p.stripe.as_str() {
                "offline" => eprintln!(
                    "note: Stripe was unreachable: the package holds local data only, and says so"
                ),
                "not_configured" => {
                    eprintln!("note: no Stripe API key: the package holds local data only")
                }
                _ => {}
            }
            Ok(())
        }
        DsrCmd::Review { id } => {
            let r = review::review(ctx, id)?;
            if json {
                return output::json(&r);
            }
            print_review(&r);
            Ok(())
        }
        DsrCmd::Withhold {
            id,
            record,
            field,
            ground,
            text,
        } => {
            let r = review::withhold(ctx, id, &record, field.as_deref(), &ground, text.as_deref())?;
            if json {
                return output::json(&r);
            }
            println!(
                "{record}{}: withheld",
                field.map(|f| format!(" ({f})")).unwrap_or_default()
            );
            Ok(())
        }
        DsrCmd::Unwithhold { id, record, field } => {
            let r = review::unwithhold(ctx, id, &record, field.as_deref())?;
            if json {
                return output::json(&r);
            }
            println!(
                "{record}{}: no longer withheld",
                field.map(|f| format!(" ({f})")).unwrap_or_default()
            );
            Ok(())
        }
        DsrCmd::Release { id, out } => {
            let p = review::release(ctx, id, out.as_deref())?;
            if json {
                return output::json(&p);
            }
            println!("{}", p.path);
            println!("sha256 {}", p.sha256);
            Ok(())
        }
        DsrCmd::Erase { id, plan, yes } => {
            if !plan && !yes {
                return Err(Error::invalid(
                    "say --plan to review the erasure plan, or --yes to execute it",
                ));
            }
            if plan {
                let p = erasure::plan(ctx, id)?;
                if json {
                    return output::json(&p);
                }
                print_plan(&p);
                return Ok(());
            }
            let r = erasure::execute(ctx, id)?;
            if json {
                return output::json(&r);
            }
            println!(
                "request #{id} erased: {} deleted, {} kept pseudonymised, Stripe customers deleted: {}",
                count_of(r.events_deleted, "event", "events"),
                count_of(r.records_retained, "financial record", "financial records"),
                if r.stripe_customers_deleted.is_empty() {
                    "none".to_owned()
                } else {
                    r.stripe_customers_deleted.join(", ")
                }
            );
            Ok(())
        }
        DsrCmd::Resolve { id, target, note } => {
            let p = erasure::resolve_blocker(ctx, id, &target, &note)?;
            if json {
                return output::json(&p);
            }
            println!("{target}: recorded as resolved at Stripe");
            print_plan(&p);
            Ok(())
        }
        DsrCmd::Receipt { id, out } => {
            let rc = erasure::write_receipt(ctx, id, &out)?;
            if json {
                return output::json(
                    &serde_json::json!({"path": out.display().to_string(), "receipt": rc}),
                );
            }
            println!("{}", out.display());
            Ok(())
        }
        DsrCmd::Reminders { new } => {
            let all = if new {
                requests::take_new_reminders(ctx)?
            } else {
                requests::reminders(ctx)?
            };
            if json {
                return output::json(&all);
            }
            table(
                &["request", "kind", "due", "days left"],
                all.iter()
                    .map(|r| {
                        vec![
                            r.request_id.to_string(),
                            r.kind.to_string(),
                            r.due_at.clone(),
                            r.days_left.to_string(),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        DsrCmd::Retention { years, preset } => {
            let r = if years.is_none() && preset.is_none() {
                privacy_desk_core::domain::settings::financial_retention(ctx)?
            } else {
                privacy_desk_core::domain::settings::set_financial_retention(
                    ctx,
                    years,
                    preset.as_deref(),
                )?
            };
            if json {
                return output::json(&r);
            }
            println!(
                "financial records are kept {} years after the end of their year{}",
                r.years,
                r.preset
                    .map(|p| format!(" (preset {p})"))
                    .unwrap_or_default()
            );
            Ok(())
        }
    }
}
