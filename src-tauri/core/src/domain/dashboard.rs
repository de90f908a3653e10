//! The dashboard's numbers: processors, events per day (by when they occurred), rejected
//! deliveries.

use chrono::{Duration, NaiveDate, Utc};
use serde::Serialize;
use ts_rs::TS;

use crate::context::Context;
use crate::domain::processors::{self, Processor};
use crate::error::Result;
use crate::store::{events, Db};

#[derive(Debug, Clone, Serialize, TS)]
pub struct DayCount {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct Summary {
    pub processors: Vec<Processor>,
    /// Events by the day they occurred, the last 30 days, oldest first, days without events
    /// included.
    pub events_per_day: Vec<DayCount>,
    pub rejected_last_24h: i64,
}

pub fn summary(ctx: &Context) -> Result<Summary> {
    let events_per_day = events_per_day(&ctx.db, Utc::now().date_naive())?;
    Ok(Summary {
        processors: processors::list(ctx)?,
        events_per_day,
        rejected_last_24h: crate::domain::deliveries::rejected_last_24h(&ctx.db)?,
    })
}

/// The 30 days up to `today`, oldest first, with the events that occurred on each.
fn events_per_day(db: &Db, today: NaiveDate) -> Result<Vec<DayCount>> {
    let first = today - Duration::days(29);
    let first_ms = first
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_millis();
    let counts = db.read(|c| events::occurred_per_day(c, first_ms))?;
    Ok((0..30)
        .map(|i| {
            let day = first + Duration::days(i);
            let n = day
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis()
                / 86_400_000;
            DayCount {
                day: day.format("%Y-%m-%d").to_string(),
                count: counts.iter().find(|(d, _)| *d == n).map_or(0, |x| x.1),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{self, model::Incoming};
    use crate::store::processors::{insert, NewProcessor};

    /// A backfill brings last week's payments today: the chart shows them last week.
    #[test]
    fn the_chart_counts_events_on_the_day_they_occurred() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::open_in_memory_keychain(dir.path()).unwrap();
        let pid = ctx
            .db
            .write(|c| insert(c, &NewProcessor::bare_stripe("0123456789abcdef01234567")))
            .unwrap();
        let now = crate::time::now_ms();
        for (i, days_ago) in [3, 3, 0].into_iter().enumerate() {
            let inc = Incoming {
                event_id: format!("evt_{i}"),
                event_type: "charge.succeeded".into(),
                occurred_at: now - days_ago * 86_400_000,
                livemode: Some(false),
                thin: false,
                data: Default::default(),
            };
            ingest::store_blocking(&ctx.db, ingest::row(pid, "stripe", inc, now, None)).unwrap();
        }
        let days = events_per_day(&ctx.db, chrono::Utc::now().date_naive()).unwrap();
        assert_eq!(days.len(), 30);
        let counts: Vec<i64> = days.iter().map(|d| d.count).collect();
        assert_eq!(counts[29], 1, "today: {counts:?}");
        assert_eq!(counts[26], 2, "three days ago: {counts:?}");
        assert_eq!(counts.iter().sum::<i64>(), 3);
    }
}
