//! Application settings: the organisation profile (the controller, for the RoPA and letters),
//! the receiver's port, activity-log retention and background receiving.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::store::settings as q;

const ORG: &str = "org_profile";
const RECEIVER_PORT: &str = "receiver_port";
const RETENTION_DAYS: &str = "retention_days";
const BACKGROUND: &str = "background_receiving";
pub const DEFAULT_PORT: u16 = 8787;

/// The controller, as the RoPA and letters to data subjects name it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct OrgProfile {
    pub name: String,
    pub address: String,
    pub email: String,
    pub dpo_name: String,
    pub dpo_email: String,
    /// EU/UK representative (Art. 27), if any.
    pub representative: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Settings {
    pub org: OrgProfile,
    pub receiver_port: u16,
    /// Where the database lives (shown, not editable here: use --data-dir).
    pub data_dir: String,
    /// Events received longer ago than this are deleted; `null` keeps them.
    pub retention_days: Option<u32>,
    /// Keep the receiver running from the tray when the window is closed.
    pub background_receiving: bool,
}

pub fn get(ctx: &Context) -> Result<Settings> {
    ctx.db.read(|c| {
        Ok(Settings {
            org: q::get(c, ORG)?
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default(),
            receiver_port: q::get(c, RECEIVER_PORT)?
                .and_then(|p| p.parse().ok())
                .unwrap_or(DEFAULT_PORT),
            data_dir: ctx.data_dir.display().to_string(),
            retention_days: q::get(c, RETENTION_DAYS)?.and_then(|d| d.parse().ok()),
            background_receiving: q::get(c, BACKGROUND)?.as_deref() == Some("true"),
        })
    })
}

pub fn save(ctx: &Context, s: Settings) -> Result<Settings> {
    if s.receiver_port == 0 {
        return Err(Error::invalid(
            "the receiver port must be between 1 and 65535",
        ));
    }
    if s.retention_days == Some(0) {
        return Err(Error::invalid(
            "retention must be at least 1 day (leave it empty to keep every event)",
        ));
    }
    for (field, v) in [
        ("contact email", &s.org.email),
        ("DPO email", &s.org.dpo_email),
    ] {
        if !v.trim().is_empty() && crate::ingest::model::normalise_email(v).is_none() {
            return Err(Error::invalid(format!(
                "the {field} is not an email address"
            )));
        }
    }
    let org = serde_json::to_string(&s.org).expect("the profile serialises");
    let s2 = s.clone();
    ctx.db.write(move |c| {
        q::set(c, ORG, &org)?;
        q::set(c, RECEIVER_PORT, &s2.receiver_port.to_string())?;
        match s2.retention_days {
            Some(d) => q::set(c, RETENTION_DAYS, &d.to_string())?,
            None => q::delete(c, RETENTION_DAYS)?,
        }
        q::set(
            c,
            BACKGROUND,
            if s2.background_receiving {
                "true"
            } else {
                "false"
            },
        )
    })?;
    get(ctx)
}

/// Updates only the given organisation fields (`org set`).
pub fn update_org(ctx: &Context, change: impl FnOnce(&mut OrgProfile)) -> Result<OrgProfile> {
    let mut s = get(ctx)?;
    change(&mut s.org);
    Ok(save(ctx, s)?.org)
}
