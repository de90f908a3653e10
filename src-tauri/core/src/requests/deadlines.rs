//! Legal deadlines for answering a request.
//!
//! - GDPR and UK GDPR (Art. 12(3)): one calendar month from receipt, extendable by two further
//!   months (three months from receipt) when the subject is told within the first month. A month
//!   ends on the same day number in the next month, or on that month's last day when it has no
//!   such day: 31 January + 1 month = 28 (29 in a leap year) February.
//! - CCPA/CPRA (Cal. Civ. Code § 1798.130(a)(2)): 45 calendar days, extendable once by 45 more.

use chrono::{Days, Months, NaiveDate};
use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub enum Regime {
    #[serde(rename = "gdpr")]
    Gdpr,
    #[serde(rename = "uk-gdpr")]
    UkGdpr,
    #[serde(rename = "ccpa")]
    Ccpa,
}

impl Regime {
    pub const ALL: [Regime; 3] = [Regime::Gdpr, Regime::UkGdpr, Regime::Ccpa];

    pub fn parse(s: &str) -> Result<Regime> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gdpr" | "eu-gdpr" => Ok(Regime::Gdpr),
            "uk-gdpr" | "uk_gdpr" | "ukgdpr" => Ok(Regime::UkGdpr),
            "ccpa" | "cpra" => Ok(Regime::Ccpa),
            _ => Err(Error::invalid(format!(
                "unknown regime '{s}': use gdpr, uk-gdpr or ccpa"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Gdpr => "gdpr",
            Regime::UkGdpr => "uk-gdpr",
            Regime::Ccpa => "ccpa",
        }
    }

    /// The law's name for people.
    pub fn label(self) -> &'static str {
        match self {
            Regime::Gdpr => "GDPR (EU) 2016/679",
            Regime::UkGdpr => "UK GDPR",
            Regime::Ccpa => "CCPA/CPRA",
        }
    }

    /// The deadline in words, for the form that records a request.
    pub fn period(self) -> &'static str {
        match self {
            Regime::Gdpr | Regime::UkGdpr => "one calendar month, extendable by two more",
            Regime::Ccpa => "45 days, extendable once by 45 more",
        }
    }
}

/// The first due date: received + 1 month (GDPR, UK GDPR) or + 45 days (CCPA).
pub fn due(regime: Regime, received: NaiveDate) -> NaiveDate {
    match regime {
        Regime::Gdpr | Regime::UkGdpr => add_months(received, 1),
        Regime::Ccpa => received + Days::new(45),
    }
}

/// The due date after the one extension: received + 3 months, or + 90 days.
pub(crate) fn extended_due(regime: Regime, received: NaiveDate) -> NaiveDate {
    match regime {
        Regime::Gdpr | Regime::UkGdpr => add_months(received, 3),
        Regime::Ccpa => received + Days::new(90),
    }
}

/// Calendar-month addition, clamped to the last day of the target month.
pub(crate) fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n))
        .expect("dates stay far inside chrono's range")
}

/// Whether an extension may still be granted on `today`: only while the first period runs
/// (the due day itself included) and only once.
pub fn may_extend(
    regime: Regime,
    received: NaiveDate,
    today: NaiveDate,
    already: bool,
) -> Result<NaiveDate> {
    if already {
        return Err(Error::Blocked(
            "this request was extended already: the law allows one extension".into(),
        ));
    }
    let first = due(regime, received);
    if today > first {
        return Err(Error::Blocked(format!(
            "the first period ended on {first}: an extension must be decided and told to the \
             data subject within it, so it can no longer be granted; answer the request now"
        )));
    }
    Ok(extended_due(regime, received))
}

/// Whether the deadline may be extended today, as the screens show it: the new due date, or
/// why not (the refusal [`may_extend`] would give).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Extension {
    pub allowed: bool,
    /// The start (UTC) of the day the answer would be due after the extension.
    pub due_at: Option<String>,
    /// Why the deadline cannot be extended (when not `allowed`).
    pub refusal: Option<String>,
}

impl Extension {
    pub fn refused(why: impl Into<String>) -> Extension {
        Extension {
            allowed: false,
            due_at: None,
            refusal: Some(why.into()),
        }
    }
}

/// [`may_extend`] as an [`Extension`].
pub fn extension(
    regime: Regime,
    received: NaiveDate,
    today: NaiveDate,
    already: bool,
) -> Extension {
    match may_extend(regime, received, today, already) {
        Ok(due) => Extension {
            allowed: true,
            due_at: Some(crate::time::to_rfc3339(
                due.and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp_millis(),
            )),
            refusal: None,
        },
        Err(e) => Extension::refused(e.to_string()),
    }
}

/// Days from `today` to `due` (negative when overdue).
pub fn days_left(due: NaiveDate, today: NaiveDate) -> i64 {
    (due - today).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn deadline_table() {
        // (regime, received, due, extended due)
        let table = [
            (Regime::Gdpr, "2025-01-31", "2025-02-28", "2025-04-30"),
            (Regime::Gdpr, "2024-01-31", "2024-02-29", "2024-04-30"),
            (Regime::Gdpr, "2024-01-29", "2024-02-29", "2024-04-29"),
            (Regime::Gdpr, "2025-01-15", "2025-02-15", "2025-04-15"),
            (Regime::UkGdpr, "2025-09-03", "2025-10-03", "2025-12-03"),
            (Regime::UkGdpr, "2025-03-31", "2025-04-30", "2025-06-30"),
            (Regime::Gdpr, "2025-08-31", "2025-09-30", "2025-11-30"),
            (Regime::Gdpr, "2025-12-31", "2026-01-31", "2026-03-31"),
            (Regime::Gdpr, "2025-11-30", "2025-12-30", "2026-02-28"),
            (Regime::Gdpr, "2027-11-30", "2027-12-30", "2028-02-29"),
            (Regime::Ccpa, "2025-01-01", "2025-02-15", "2025-04-01"),
            (Regime::Ccpa, "2024-02-01", "2024-03-17", "2024-05-01"),
            (Regime::Ccpa, "2025-12-20", "2026-02-03", "2026-03-20"),
        ];
        for (regime, received, first, extended) in table {
            assert_eq!(due(regime, d(received)), d(first), "{regime:?} {received}");
            assert_eq!(
                extended_due(regime, d(received)),
                d(extended),
                "{regime:?} {received} extended"
            );
        }
    }

    #[test]
    fn extension_only_within_the_first_period_and_once() {
        let r = d("2025-01-31");
        // On the due day itself: still allowed.
        assert_eq!(
            may_extend(Regime::Gdpr, r, d("2025-02-28"), false).unwrap(),
            d("2025-04-30")
        );
        let late = may_extend(Regime::Gdpr, r, d("2025-03-01"), false).unwrap_err();
        assert_eq!(late.code(), "blocked");
        assert!(may_extend(Regime::Gdpr, r, d("2025-02-01"), true).is_err());
        assert_eq!(
            may_extend(Regime::Ccpa, d("2025-01-01"), d("2025-02-15"), false).unwrap(),
            d("2025-04-01")
        );
        assert!(may_extend(Regime::Ccpa, d("2025-01-01"), d("2025-02-16"), false).is_err());
    }

    #[test]
    fn extension_says_until_when_or_why_not() {
        let r = d("2025-01-31");
        let ok = extension(Regime::Gdpr, r, d("2025-02-28"), false);
        assert!(ok.allowed);
        assert_eq!(ok.due_at.as_deref(), Some("2025-04-30T00:00:00Z"));
        let late = extension(Regime::Gdpr, r, d("2025-03-01"), false);
        assert!(!late.allowed && late.due_at.is_none());
        assert!(late
            .refusal
            .unwrap()
            .contains("first period ended on 2025-02-28"));
        let again = extension(Regime::Ccpa, r, d("2025-02-01"), true);
        assert!(again.refusal.unwrap().contains("one extension"));
    }

    #[test]
    fn days_left_counts_calendar_days() {
        assert_eq!(days_left(d("2025-02-28"), d("2025-02-21")), 7);
        assert_eq!(days_left(d("2025-02-28"), d("2025-03-02")), -2);
    }
}
