//! Time in one representation: unix milliseconds (UTC) in storage, RFC 3339 on output.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};

use crate::error::{Error, Result};

/// Unix milliseconds, UTC.
pub type Millis = i64;

/// The first and last millisecond of the years 0001–9999: times outside them cannot be
/// written in RFC 3339 and are refused where they come in from outside.
pub(crate) const EARLIEST_MS: Millis = -62_135_596_800_000;
pub(crate) const LATEST_MS: Millis = 253_402_300_799_999;

/// Whether `ms` lies in the years 0001–9999.
pub(crate) fn in_range(ms: Millis) -> bool {
    (EARLIEST_MS..=LATEST_MS).contains(&ms)
}

pub fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

/// RFC 3339 in UTC; whole seconds print without a fraction.
pub(crate) fn to_rfc3339(ms: Millis) -> String {
    let t = Utc
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let fmt = if ms % 1000 == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Millis
    };
    t.to_rfc3339_opts(fmt, true)
}

/// Which end of a day a bare `YYYY-MM-DD` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DayEdge {
    /// The first millisecond of the day (for `--since`).
    Start,
    /// The first millisecond of the next day, exclusive (for `--until`).
    EndExclusive,
}

/// Parses RFC 3339 or `YYYY-MM-DD` (UTC).
pub(crate) fn parse_time(input: &str, edge: DayEdge) -> Result<Millis> {
    let s = input.trim();
    let t = parse_any(s, edge)?;
    // An exclusive end may be the first instant after 9999.
    let last = match edge {
        DayEdge::Start => t,
        DayEdge::EndExclusive => t.saturating_sub(1),
    };
    if !in_range(last) {
        return Err(Error::invalid(format!(
            "'{s}' is outside the years 0001–9999"
        )));
    }
    Ok(t)
}

fn parse_any(s: &str, edge: DayEdge) -> Result<Millis> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let d = match edge {
            DayEdge::Start => d,
            DayEdge::EndExclusive => d.succ_opt().unwrap_or(d),
        };
        let start = d.and_time(chrono::NaiveTime::MIN);
        return Ok(Utc.from_utc_datetime(&start).timestamp_millis());
    }
    Err(Error::invalid(format!(
        "'{s}' is not a time: use RFC 3339 (2025-11-10T18:22:00Z) or a date (2025-11-10)"
    )))
}

/// `n` and the noun in the right number: "1 email address", "3 email addresses".
pub fn count_of(n: impl Into<i128>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How far a signed time is from now, in words: `age_secs` > 0 is in the past
/// ("1 h 5 min ago"), < 0 in the future ("in 10 min"). Rounded down to the two largest units.
pub(crate) fn age_in_words(age_secs: i64) -> String {
    let span = age_secs.unsigned_abs();
    let (days, hours, mins, secs) = (span / 86_400, span / 3600 % 24, span / 60 % 60, span % 60);
    let words = if days >= 365 * 100 {
        "more than a century".to_owned()
    } else if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {mins} min")
    } else if mins > 0 {
        format!("{mins} min {secs} s")
    } else {
        format!("{secs} s")
    };
    if age_secs >= 0 {
        format!("{words} ago")
    } else {
        format!("in {words}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_noun_in_the_right_number() {
        assert_eq!(
            count_of(1u32, "email address", "email addresses"),
            "1 email address"
        );
        assert_eq!(count_of(0u32, "event", "events"), "0 events");
        assert_eq!(count_of(2usize as u64, "event", "events"), "2 events");
        assert_eq!(count_of(-1i64, "day", "days"), "-1 days");
    }

    #[test]
    fn an_age_reads_in_the_two_largest_units_and_says_which_way() {
        assert_eq!(age_in_words(3600), "1 h 0 min ago");
        assert_eq!(age_in_words(-600), "in 10 min 0 s");
        assert_eq!(age_in_words(45), "45 s ago");
        assert_eq!(age_in_words(2 * 86_400 + 7200), "2 d 2 h ago");
        assert_eq!(age_in_words(i64::MIN), "in more than a century");
        assert_eq!(age_in_words(i64::MAX), "more than a century ago");
    }

    #[test]
    fn the_range_is_years_0001_to_9999() {
        assert_eq!(to_rfc3339(EARLIEST_MS), "0001-01-01T00:00:00Z");
        assert_eq!(to_rfc3339(LATEST_MS), "9999-12-31T23:59:59.999Z");
        assert!(in_range(0) && in_range(EARLIEST_MS) && in_range(LATEST_MS));
        assert!(!in_range(EARLIEST_MS - 1) && !in_range(LATEST_MS + 1));
        assert!(!in_range(i64::MIN) && !in_range(i64::MAX));
    }

    #[test]
    fn formats_whole_seconds_without_fraction() {
        assert_eq!(to_rfc3339(1_762_798_920_000), "2025-11-10T18:22:00Z");
        assert_eq!(to_rfc3339(1_768_371_652_246), "2026-01-14T06:20:52.246Z");
    }

    #[test]
    fn parses_dates_and_rfc3339() {
        let start = parse_time("2025-11-10", DayEdge::Start).unwrap();
        let end = parse_time("2025-11-10", DayEdge::EndExclusive).unwrap();
        assert_eq!(end - start, 86_400_000);
        assert_eq!(
            parse_time("2025-11-10T00:00:00+01:00", DayEdge::Start).unwrap(),
            start - 3_600_000
        );
        assert!(parse_time("yesterday", DayEdge::Start).is_err());
        // chrono reads signed and five-digit years: they are not RFC 3339 out again.
        for odd in ["-200000-01-01", "0000-12-31", "+12000-01-01"] {
            let e = parse_time(odd, DayEdge::Start).unwrap_err().to_string();
            assert!(e.contains("0001–9999"), "{odd}: {e}");
        }
        assert!(parse_time("10000-01-01T00:00:00Z", DayEdge::Start).is_err());
        assert!(parse_time("0001-01-01", DayEdge::Start).is_ok());
        assert!(parse_time("9999-12-31", DayEdge::EndExclusive).is_ok());
    }
}
