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

// ---------------------------------------------------------------------------------------------
// Financial-record retention (erasure keeps pseudonymised financial records this long)

const FINANCIAL_RETENTION: &str = "financial_retention_years";
/// Default: 7 years (e.g. UK Companies Act / HMRC practice).
pub(crate) const DEFAULT_FINANCIAL_RETENTION_YEARS: u32 = 7;

/// Retention presets by jurisdiction: (key, years, what it is based on).
pub const FINANCIAL_RETENTION_PRESETS: &[(&str, u32, &str)] = &[
    ("default", 7, "7 years (common default; UK HMRC practice)"),
    ("de", 10, "Germany: 10 years (HGB § 257, AO § 147)"),
    ("fr", 10, "France: 10 years (Code de commerce L123-22)"),
    (
        "uk",
        6,
        "United Kingdom: 6 years (Companies Act 2006 s. 388, HMRC)",
    ),
    (
        "us",
        7,
        "United States: 7 years (IRS guidance for records supporting returns)",
    ),
];

#[derive(Debug, Clone, Serialize, TS)]
pub struct FinancialRetention {
    pub years: u32,
    /// The preset the years match, if any.
    pub preset: Option<String>,
}

pub fn financial_retention(ctx: &Context) -> Result<FinancialRetention> {
    let years = ctx
        .db
        .read(|c| q::get(c, FINANCIAL_RETENTION))?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_FINANCIAL_RETENTION_YEARS);
    Ok(retention_view(years))
}

fn retention_view(years: u32) -> FinancialRetention {
    FinancialRetention {
        years,
        preset: FINANCIAL_RETENTION_PRESETS
            .iter()
            .find(|p| p.1 == years)
            .map(|p| p.0.to_owned()),
    }
}

/// Sets the retention in years (1–30), or from a preset key (`de`, `uk`, …).
pub fn set_financial_retention(
    ctx: &Context,
    years: Option<u32>,
    preset: Option<&str>,
) -> Result<FinancialRetention> {
    let years = match (years, preset) {
        (Some(y), None) => y,
        (None, Some(p)) => FINANCIAL_RETENTION_PRESETS
            .iter()
            .find(|x| x.0.eq_ignore_ascii_case(p.trim()))
            .map(|x| x.1)
            .ok_or_else(|| {
                let keys: Vec<&str> = FINANCIAL_RETENTION_PRESETS.iter().map(|x| x.0).collect();
                Error::invalid(format!(
                    "unknown retention preset '{p}': use one of {}",
                    keys.join(", ")
                ))
            })?,
        _ => return Err(Error::invalid("give either --years N or --preset KEY")),
    };
    if !(1..=30).contains(&years) {
        return Err(Error::invalid(
            "the financial-record retention must be between 1 and 30 years",
        ));
    }
    ctx.db
        .write(move |c| q::set(c, FINANCIAL_RETENTION, &years.to_string()))?;
    Ok(retention_view(years))
}
