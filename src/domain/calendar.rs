//! The archive's calendar (spec §2, "calendar dates are local"): every day the
//! server derives from a clock — the year in an archive number, `filed_at`'s
//! day when there is no service date, retention start, "today" in the due list
//! and in disposal, the days of the retrieval log's filters and of search — is
//! a day in the configured IANA time zone (`archive.timezone`, default
//! `Asia/Shanghai`). Instants are still stored and shown in RFC 3339.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// A time zone whose days the archive counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar(Tz);

impl Default for Calendar {
    /// Asia/Shanghai, the zone of the dealerships the product serves.
    fn default() -> Self {
        Calendar(chrono_tz::Asia::Shanghai)
    }
}

impl Calendar {
    /// Parses an IANA zone name (`Asia/Shanghai`, `UTC`, `Europe/Berlin`).
    pub fn parse(name: &str) -> Result<Self, String> {
        name.parse::<Tz>()
            .map(Calendar)
            .map_err(|_| format!("`{name}` is not an IANA time zone name (e.g. Asia/Shanghai)"))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// `t` as the archive's local time, to the minute, with its offset
    /// (`2026-12-02 15:04 +08:00`), for people reading a page.
    pub fn local_minute(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.0)
            .format("%Y-%m-%d %H:%M %:z")
            .to_string()
    }

    /// `t` as the archive's local time to the second (`2026-12-02 15:04:05`),
    /// for log records, where the order within a minute matters.
    pub fn local_second(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.0)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }

    /// The local day of instant `t`.
    pub fn day_of(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.0).date_naive()
    }

    /// The first instant of local day `d`.
    pub fn start_of(&self, d: NaiveDate) -> DateTime<Utc> {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        // A zone that skips midnight (a DST jump) starts the day at the first
        // instant after the gap.
        match self.0.from_local_datetime(&midnight) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                t.with_timezone(&Utc)
            }
            chrono::LocalResult::None => self
                .0
                .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
                .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc)),
        }
    }

    /// The last nanosecond of local day `d`.
    pub fn end_of(&self, d: NaiveDate) -> DateTime<Utc> {
        let next = d.succ_opt().unwrap_or(d);
        self.start_of(next) - chrono::Duration::nanoseconds(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_beijing_days_by_default() {
        let c = Calendar::default();
        let t: DateTime<Utc> = "2026-12-31T22:30:00Z".parse().unwrap();
        assert_eq!(c.day_of(t).to_string(), "2027-01-01");
        let t: DateTime<Utc> = "2026-11-29T23:24:00Z".parse().unwrap();
        assert_eq!(c.day_of(t).to_string(), "2026-11-30");
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(c.start_of(d).to_rfc3339(), "2026-02-28T16:00:00+00:00");
        assert_eq!(
            c.end_of(d).to_rfc3339(),
            "2026-03-01T15:59:59.999999999+00:00"
        );
    }

    #[test]
    fn other_zones_and_bad_names() {
        let utc = Calendar::parse("UTC").unwrap();
        let t: DateTime<Utc> = "2026-12-31T22:30:00Z".parse().unwrap();
        assert_eq!(utc.day_of(t).to_string(), "2026-12-31");
        assert!(Calendar::parse("Mars/Olympus").is_err());
    }
}
