//! `privacy-desk backup`, `restore` and `doctor`'s health checks (see
//! `privacy_desk_core::backup` and `privacy_desk_core::health`).

use std::path::Path;

use serde::Serialize;

use super::output::{self, table};
use privacy_desk_core::backup;
use privacy_desk_core::context::Context;
use privacy_desk_core::doctor;
use privacy_desk_core::error::{Error, Result};
use privacy_desk_core::health::{self, Health, Status};
use privacy_desk_core::secrets::Secret;

fn passphrase() -> Result<Secret> {
    Secret::read_line(std::io::stdin(), "backup passphrase")
}

pub fn create(ctx: &Context, out: &Path, credentials: bool, json: bool) -> Result<()> {
    let r = backup::create(ctx, out, &passphrase()?, credentials)?;
    if json {
        return output::json(&r);
    }
    let m = &r.manifest;
    println!("backed up to {}", r.path);
    println!("  sha256   {}", r.sha256);
    println!(
        "  holds    {} events, {} subjects, {} requests, {} audit entries",
        m.counts.events, m.counts.subjects, m.counts.requests, m.counts.audit_entries
    );
    println!(
        "  secrets  {}",
        if m.credentials_included {
            "the audit key and every credential"
        } else {
            "the audit key only (add --include-credentials to carry the processors' secrets)"
        }
    );
    Ok(())
}

pub fn restore(data_dir: &Path, file: &Path, json: bool) -> Result<()> {
    let (ctx, r) = backup::restore(data_dir, file, &passphrase()?)?;
    ctx.db.shutdown();
    if json {
        return output::json(&r);
    }
    let m = &r.manifest;
    println!("restored into {}", r.data_dir);
    println!(
        "  {} events, {} subjects, {} requests, {} audit entries (backup of {})",
        m.counts.events, m.counts.subjects, m.counts.requests, m.counts.audit_entries, m.created_at
    );
    println!(
        "  audit trail {}",
        if r.audit_intact {
            "intact"
        } else {
            "BROKEN: run `privacy-desk audit verify`"
        }
    );
    println!("  {} keychain entries restored", r.secrets_restored.len());
    if !r.secrets_to_reenter.is_empty() {
        println!("\nsecrets to enter again:");
        table(
            &["processor", "secret", "what to do"],
            r.secrets_to_reenter
                .iter()
                .map(|s| vec![s.processor_name.clone(), s.secret.clone(), s.fix.clone()])
                .collect(),
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct DoctorJson<'a> {
    #[serde(flatten)]
    keychain: &'a doctor::Report,
    #[serde(flatten)]
    health: &'a Health,
}

/// `doctor`: the health checks, then the keychain's housekeeping. Exit 1 when a check found
/// a problem.
pub fn doctor(ctx: &Context, remove: &doctor::Remove, json: bool) -> Result<()> {
    let h = health::run(ctx, None)?;
    let k = doctor::check(ctx, remove)?;
    if json {
        output::json(&DoctorJson {
            keychain: &k,
            health: &h,
        })?;
    } else {
        table(
            &["check", "status", "detail", "what to do"],
            h.checks
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        format!("{:?}", c.status).to_lowercase(),
                        c.detail.clone(),
                        output::opt(&c.fix),
                    ]
                })
                .collect(),
        );
        println!();
        super::keychain_report(&k);
    }
    let problems = h
        .checks
        .iter()
        .filter(|c| c.status == Status::Problem)
        .count();
    if problems > 0 {
        return Err(Error::Integrity(format!(
            "doctor found {problems} problem{}: see what to do above",
            if problems == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}
