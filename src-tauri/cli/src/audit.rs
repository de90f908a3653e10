//! `privacy-desk audit …`: the hash-chained audit trail (see `privacy_desk_core::audit`).

use clap::Subcommand;

use super::output::{self, table};
use privacy_desk_core::audit;
use privacy_desk_core::context::Context;
use privacy_desk_core::error::{Error, Result};

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Every entry, oldest first.
    List {
        /// Only this request's entries.
        #[arg(long)]
        request: Option<i64>,
    },
    /// Check the hash chain: exit 0 when intact, 1 naming the first broken entry.
    Verify,
}

pub fn run(ctx: &Context, cmd: AuditCmd, json: bool) -> Result<()> {
    match cmd {
        AuditCmd::List { request } => {
            let all = audit::list(ctx, request)?;
            if json {
                return output::json(&all);
            }
            table(
                &["id", "at", "actor", "action", "request", "subject"],
                all.iter()
                    .map(|e| {
                        vec![
                            e.id.to_string(),
                            e.at.clone(),
                            e.actor.clone(),
                            e.action.clone(),
                            e.request_id.map(|r| r.to_string()).unwrap_or("-".into()),
                            e.subject.clone().unwrap_or("-".into()),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        AuditCmd::Verify => {
            let c = audit::verify(ctx)?;
            if json {
                output::json(&c)?;
            } else if c.ok {
                println!("audit trail intact: {} entries", c.entries);
            }
            match (c.ok, c.first_broken) {
                (true, _) => Ok(()),
                (false, id) => Err(Error::Integrity(format!(
                    "the audit trail is broken at entry {}: {}",
                    id.unwrap_or(0),
                    c.problem.unwrap_or_default()
                ))),
            }
        }
    }
}
