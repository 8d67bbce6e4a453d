//! Time comes from a [`Clock`], never from `Utc::now()` in rule code, so that
//! expiries, deadlines and the ledger are testable. Every instant is truncated
//! to whole microseconds, the precision both databases keep.

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use std::sync::{Arc, Mutex};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant, truncated to microseconds.
    fn now(&self) -> DateTime<Utc>;
}

/// Truncates an instant to whole microseconds.
pub fn truncate_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::microseconds(1)).unwrap_or(at)
}

/// The China-time (UTC+8) date of an instant: the day a gift is received,
/// a year a statement covers.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(cst) => at.with_timezone(&cst).date_naive(),
        None => at.date_naive(),
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate_micros(Utc::now())
    }
}

/// A clock that stands still until advanced: for tests.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    pub fn at(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(truncate_micros(at))))
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now = truncate_micros(*now + by);
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|now| *now).unwrap_or_else(|p| *p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Timelike};

    #[test]
    fn truncates_to_microseconds() {
        let at = Utc
            .timestamp_opt(1_700_000_000, 123_456_789)
            .single()
            .unwrap_or_default();
        assert_eq!(truncate_micros(at).nanosecond(), 123_456_000);
    }

    #[test]
    fn fixed_clock_advances() {
        let start = Utc.timestamp_opt(1_700_000_000, 0).single().unwrap_or_default();
        let clock = FixedClock::at(start);
        clock.advance(Duration::minutes(5));
        assert_eq!(clock.now() - start, Duration::minutes(5));
    }
}
