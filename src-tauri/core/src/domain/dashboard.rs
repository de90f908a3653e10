//! The dashboard's numbers: processors, events received per day, rejected deliveries.

use chrono::{Duration, Utc};
use serde::Serialize;
use ts_rs::TS;

use crate::context::Context;
use crate::domain::processors::{self, Processor};
use crate::error::Result;
use crate::store::events;

#[derive(Debug, Clone, Serialize, TS)]
pub struct DayCount {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct Summary {
    pub processors: Vec<Processor>,
    /// The last 30 days, oldest first, days without events included.
    pub events_per_day: Vec<DayCount>,
    pub rejected_last_24h: i64,
}

pub fn summary(ctx: &Context) -> Result<Summary> {
    let today = Utc::now().date_naive();
    let first = today - Duration::days(29);
    let first_ms = first
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_millis();
    let counts = ctx.db.read(|c| events::received_per_day(c, first_ms))?;
    let events_per_day = (0..30)
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
        .collect();
    Ok(Summary {
        processors: processors::list(ctx)?,
        events_per_day,
        rejected_last_24h: crate::domain::deliveries::rejected_last_24h(&ctx.db)?,
    })
}
