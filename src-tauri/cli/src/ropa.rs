//! `privacy-desk org …`, `privacy-desk ropa …` (Records of Processing Activities) and the
//! arguments of `processor add webhook`.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::output::{self, table};
use privacy_desk_core::context::Context;
use privacy_desk_core::domain::{processors, settings};
use privacy_desk_core::error::{Error, Result};
use privacy_desk_core::ropa::{self, ActivityFields, Format, ProcessorDetails};
use privacy_desk_core::secrets::Secret;
use privacy_desk_core::webhook::{
    self, SignedTimestamp, WebhookConfig, DEFAULT_ID_HEADER, DEFAULT_SIGNATURE_HEADER,
    DEFAULT_TIMESTAMP_HEADER, DEFAULT_TOLERANCE_SECS,
};

#[derive(Subcommand, Debug)]
pub enum OrgCmd {
    /// Set fields of the organisation profile (the controller); others are kept.
    Set(OrgArgs),
    /// Show the organisation profile.
    Show,
}

#[derive(Args, Debug)]
pub struct OrgArgs {
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    address: Option<String>,
    /// The controller's contact email.
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    dpo_name: Option<String>,
    #[arg(long)]
    dpo_email: Option<String>,
    /// EU/UK representative (Art. 27).
    #[arg(long)]
    representative: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum RopaCmd {
    /// The record: controller, processing activities, processors, checklist, gaps.
    Show,
    /// Write the record to a file.
    Export {
        /// xlsx (the ICO template's layout), pdf, csv or json.
        #[arg(long, value_name = "FORMAT")]
        format: Format,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Categories of personal data seen in events that the record does not declare.
    Gaps,
    /// Processing activities: add or replace one, or delete one.
    #[command(subcommand)]
    Activity(ActivityCmd),
    /// The processor sheet: service, contact, location, DPA, transfer safeguards.
    /// The details are read as JSON from stdin.
    SetProcessor { processor_id: i64 },
    /// The compliance checklist, or mark one step done (or open again).
    Checklist {
        /// The step: stripe_terms_reviewed, dpa_executed, stripe_in_ropa, retention_policy,
        /// webhook_minimisation, privacy_notice.
        step: Option<String>,
        /// When it was done (YYYY-MM-DD).
        #[arg(long, value_name = "DATE", requires = "step")]
        done: Option<String>,
        /// A link to or reference of the evidence.
        #[arg(long, default_value = "", requires = "step")]
        evidence: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ActivityCmd {
    /// Add (without --id) or replace a processing activity; its fields as JSON on stdin.
    Save {
        #[arg(long)]
        id: Option<i64>,
        /// A processor taking part (repeat for several).
        #[arg(long = "processor", value_name = "ID")]
        processors: Vec<i64>,
    },
    Delete {
        id: i64,
    },
}

pub fn org(ctx: &Context, cmd: OrgCmd, json: bool) -> Result<()> {
    let org = match cmd {
        OrgCmd::Show => settings::get(ctx)?.org,
        OrgCmd::Set(a) => settings::update_org(ctx, |o| {
            let fields = [
                (&mut o.name, a.name),
                (&mut o.address, a.address),
                (&mut o.email, a.email),
                (&mut o.dpo_name, a.dpo_name),
                (&mut o.dpo_email, a.dpo_email),
                (&mut o.representative, a.representative),
            ];
            for (field, v) in fields {
                if let Some(v) = v {
                    *field = v.trim().to_owned();
                }
            }
        })?,
    };
    if json {
        return output::json(&org);
    }
    for (label, v) in [
        ("name", &org.name),
        ("address", &org.address),
        ("email", &org.email),
        ("DPO name", &org.dpo_name),
        ("DPO email", &org.dpo_email),
        ("representative", &org.representative),
    ] {
        println!("{label:<15} {}", if v.is_empty() { "-" } else { v });
    }
    Ok(())
}

pub fn run(ctx: &Context, cmd: RopaCmd, json: bool) -> Result<()> {
    match cmd {
        RopaCmd::Show => {
            let r = ropa::report(ctx)?;
            if json {
                return output::json(&r);
            }
            println!("Controller: {}", or_dash(&r.controller.name));
            table(
                &["id", "purpose", "lawful basis", "processors", "last review"],
                r.activities
                    .iter()
                    .map(|a| {
                        vec![
                            a.id.to_string(),
                            a.fields.purpose.clone(),
                            a.fields.lawful_basis.clone(),
                            a.processors.join(", "),
                            a.fields.last_review.clone().unwrap_or("-".into()),
                        ]
                    })
                    .collect(),
            );
            if !r.gaps.is_empty() {
                println!(
                    "{} observed categories are not declared: `privacy-desk ropa gaps`",
                    r.gaps.len()
                );
            }
            Ok(())
        }
        RopaCmd::Export { format, out } => {
            let r = ropa::export(ctx, format, &out)?;
            let path = std::fs::canonicalize(&out).unwrap_or(out);
            if json {
                return output::json(&serde_json::json!({
                    "path": path,
                    "activities": r.activities.len(),
                }));
            }
            println!(
                "wrote {} processing activities to {}",
                r.activities.len(),
                path.display()
            );
            Ok(())
        }
        RopaCmd::Gaps => {
            let gaps = ropa::report(ctx)?.gaps;
            if json {
                return output::json(&gaps);
            }
            table(
                &["processor", "category", "events", "activities"],
                gaps.iter()
                    .map(|g| {
                        vec![
                            g.processor.clone(),
                            g.label.clone(),
                            g.events.to_string(),
                            if g.activities.is_empty() {
                                "(none)".into()
                            } else {
                                g.activities.join("; ")
                            },
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        RopaCmd::Activity(ActivityCmd::Save { id, processors }) => {
            let fields: ActivityFields = read_json("the activity's fields")?;
            let a = ropa::save_activity(ctx, id, fields, processors)?;
            if json {
                return output::json(&a);
            }
            println!("processing activity {} saved: {}", a.id, a.fields.purpose);
            Ok(())
        }
        RopaCmd::Activity(ActivityCmd::Delete { id }) => {
            ropa::delete_activity(ctx, id)?;
            if json {
                return output::json(&serde_json::json!({"id": id, "deleted": true}));
            }
            println!("processing activity {id} deleted");
            Ok(())
        }
        RopaCmd::SetProcessor { processor_id } => {
            let d: ProcessorDetails = read_json("the processor's details")?;
            let p = ropa::save_processor_details(ctx, processor_id, d)?;
            if json {
                return output::json(&p);
            }
            println!("processor sheet of {} saved", p.name);
            Ok(())
        }
        RopaCmd::Checklist {
            step,
            done,
            evidence,
        } => {
            let list = match step {
                Some(key) => ropa::set_checklist(ctx, &key, done, &evidence)?,
                None => ropa::report(ctx)?.checklist,
            };
            if json {
                return output::json(&list);
            }
            table(
                &["step", "label", "done on", "evidence"],
                list.iter()
                    .map(|c| {
                        vec![
                            c.key.clone(),
                            c.label.clone(),
                            c.done_on.clone().unwrap_or("-".into()),
                            or_dash(&c.evidence),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_owned()
    }
}

fn read_json<T: serde::de::DeserializeOwned>(what: &str) -> Result<T> {
    let mut s = String::new();
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut s)
        .map_err(|e| Error::Io(format!("cannot read {what} from stdin: {e}")))?;
    serde_json::from_str(&s)
        .map_err(|e| Error::invalid(format!("{what} on stdin are not valid JSON: {e}")))
}

/// `processor add webhook`.
#[derive(Args, Debug)]
pub struct WebhookArgs {
    #[arg(long)]
    name: String,
    /// The request header holding the signature.
    #[arg(long, default_value = DEFAULT_SIGNATURE_HEADER, value_name = "HEADER")]
    signature_header: String,
    /// hex or base64.
    #[arg(long, default_value = "hex", value_name = "ENCODING")]
    signature_encoding: webhook::SignatureEncoding,
    /// Text before the signature in the header, like `sha256=`.
    #[arg(long, default_value = "", value_name = "PREFIX")]
    signature_prefix: String,
    /// JSON pointer (RFC 6901) to the event id, like /id.
    #[arg(long, value_name = "PTR")]
    id_pointer: String,
    #[arg(long, value_name = "PTR")]
    type_pointer: String,
    /// The event's time: unix seconds/milliseconds or RFC 3339 (default: when received).
    #[arg(long, value_name = "PTR")]
    time_pointer: Option<String>,
    /// The data subject's email.
    #[arg(long, value_name = "PTR")]
    email_pointer: String,
    /// The data subject's name, kept with the email.
    #[arg(long, value_name = "PTR")]
    name_pointer: Option<String>,
    /// Read the shared signing secret from stdin.
    #[arg(long)]
    signing_secret_stdin: bool,
    /// The sender signs a delivery id and timestamp with the body (Standard Webhooks):
    /// deliveries outside the tolerance are refused as replays. Without it the signature is of
    /// the raw body alone (CONTRACT.md; QuickBooks, Xero), and a replay is recognised only by
    /// its event id. The window's wizard has it on unless the sender cannot.
    #[arg(long)]
    timestamp: bool,
    /// The header with the delivery id, signed with the timestamp (with `--timestamp`).
    #[arg(long, default_value = DEFAULT_ID_HEADER, value_name = "HEADER", requires = "timestamp")]
    id_header: String,
    /// The header with the signing time in unix seconds (with `--timestamp`).
    #[arg(long, default_value = DEFAULT_TIMESTAMP_HEADER, value_name = "HEADER", requires = "timestamp")]
    timestamp_header: String,
    /// How far from now (either way) a signed timestamp may be, in seconds (with `--timestamp`).
    #[arg(long, default_value_t = DEFAULT_TOLERANCE_SECS, value_name = "SECS", requires = "timestamp")]
    timestamp_tolerance: u32,
}

pub fn add_webhook(
    ctx: &Context,
    a: WebhookArgs,
) -> Result<privacy_desk_core::domain::processors::Processor> {
    let secret = if a.signing_secret_stdin {
        Some(Secret::read_line(std::io::stdin(), "signing secret")?)
    } else {
        None
    };
    let cfg = WebhookConfig {
        signature_header: a.signature_header,
        signature_encoding: a.signature_encoding,
        signature_prefix: a.signature_prefix,
        id_pointer: a.id_pointer,
        type_pointer: a.type_pointer,
        time_pointer: a.time_pointer,
        email_pointer: a.email_pointer,
        name_pointer: a.name_pointer,
        timestamp: a.timestamp.then_some(SignedTimestamp {
            id_header: a.id_header,
            timestamp_header: a.timestamp_header,
            tolerance_secs: a.timestamp_tolerance,
        }),
    };
    processors::add_webhook(ctx, &a.name, cfg, secret)
}
