//! Calendar timestamps in UTC, as FTP writes them (`YYYYMMDDHHMMSS[.fff]`, RFC 3659 §2.3).
//!
//! The crate never reads a clock: a [`Timestamp`] is built from parts, parsed from the wire, or
//! converted from a [`SystemTime`] the caller already holds.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC calendar time with an optional sub-second part, as used by `MDTM`, `MFMT` and the
/// `modify` fact of MLSx (RFC 3659 §2.3 `time-val`).
///
/// Every value is valid: the constructor checks month lengths and leap years.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
}

/// A timestamp that failed validation or parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp")]
pub struct InvalidTimestamp;

impl Timestamp {
    /// Builds a timestamp from calendar parts (UTC). Years 1 to 9999; seconds up to 60 (a leap
    /// second, which RFC 3659 allows).
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<Self, InvalidTimestamp> {
        if !(1..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(InvalidTimestamp);
        }
        Ok(Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos: 0,
        })
    }

    /// Returns the same time with a sub-second part (below one second).
    pub fn with_nanos(self, nanos: u32) -> Result<Self, InvalidTimestamp> {
        if nanos >= 1_000_000_000 {
            return Err(InvalidTimestamp);
        }
        Ok(Self { nanos, ..self })
    }

    /// Parses RFC 3659 `time-val`: 14 digits, optionally `.` and 1 to 9 digits of fraction.
    pub fn parse(input: &[u8]) -> Result<Self, InvalidTimestamp> {
        let mut parts = input.splitn(2, |&b| b == b'.');
        let digits = parts.next().unwrap_or_default();
        let fraction = parts.next();
        if digits.len() != 14 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(InvalidTimestamp);
        }
        let num = |range: std::ops::Range<usize>| -> u32 {
            digits
                .get(range)
                .unwrap_or_default()
                .iter()
                .fold(0, |acc, &d| acc * 10 + u32::from(d - b'0'))
        };
        // The casts cannot truncate: each field has at most four decimal digits.
        let ts = Self::new(
            num(0..4) as u16,
            num(4..6) as u8,
            num(6..8) as u8,
            num(8..10) as u8,
            num(10..12) as u8,
            num(12..14) as u8,
        )?;
        match fraction {
            None => Ok(ts),
            Some(f) if f.is_empty() || f.len() > 9 || !f.iter().all(u8::is_ascii_digit) => {
                Err(InvalidTimestamp)
            }
            Some(f) => {
                let mut nanos = f
                    .iter()
                    .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
                for _ in f.len()..9 {
                    nanos *= 10;
                }
                ts.with_nanos(nanos)
            }
        }
    }

    /// Converts a [`SystemTime`] (UTC). Times before 1970 or after year 9999 give an error.
    pub fn from_system_time(time: SystemTime) -> Result<Self, InvalidTimestamp> {
        let since = time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| InvalidTimestamp)?;
        Self::from_unix(since.as_secs(), since.subsec_nanos())
    }

    /// Converts seconds (and nanoseconds) since 1970-01-01 00:00:00 UTC.
    pub fn from_unix(secs: u64, nanos: u32) -> Result<Self, InvalidTimestamp> {
        let days = i64::try_from(secs / 86_400).map_err(|_| InvalidTimestamp)?;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        let year = u16::try_from(year).map_err(|_| InvalidTimestamp)?;
        // rem < 86_400, so every part fits in a u8.
        Self::new(
            year,
            month,
            day,
            (rem / 3600) as u8,
            (rem % 3600 / 60) as u8,
            (rem % 60) as u8,
        )?
        .with_nanos(nanos)
    }

    /// Seconds since 1970-01-01 00:00:00 UTC (negative before then). A leap second counts as
    /// the first second of the next minute.
    pub fn unix_seconds(&self) -> i64 {
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// Converts to a [`SystemTime`].
    pub fn to_system_time(&self) -> SystemTime {
        let secs = self.unix_seconds();
        let nanos = Duration::from_nanos(u64::from(self.nanos));
        if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs()) + nanos
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos
        }
    }

    /// The year (1 to 9999).
    pub fn year(&self) -> u16 {
        self.year
    }
    /// The month (1 to 12).
    pub fn month(&self) -> u8 {
        self.month
    }
    /// The day of the month (1 to 31).
    pub fn day(&self) -> u8 {
        self.day
    }
    /// The hour (0 to 23).
    pub fn hour(&self) -> u8 {
        self.hour
    }
    /// The minute (0 to 59).
    pub fn minute(&self) -> u8 {
        self.minute
    }
    /// The second (0 to 60).
    pub fn second(&self) -> u8 {
        self.second
    }
    /// The sub-second part in nanoseconds.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }
}

/// Writes `YYYYMMDDHHMMSS`, then `.` and the fraction without trailing zeros when there is one.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanos != 0 {
            let mut frac = format!("{:09}", self.nanos);
            while frac.ends_with('0') {
                frac.pop();
            }
            write!(f, ".{frac}")?;
        }
        Ok(())
    }
}

/// Days in `month` of `year` in the proleptic Gregorian calendar.
pub(crate) fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 0,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days, exact for the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both values are bounded by the algorithm: day in 1..=31, month in 1..=12.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_rfc3659_examples() {
        let ts = Timestamp::parse(b"19980615100045.014").unwrap();
        assert_eq!((ts.year(), ts.month(), ts.day()), (1998, 6, 15));
        assert_eq!((ts.hour(), ts.minute(), ts.second()), (10, 0, 45));
        assert_eq!(ts.nanos(), 14_000_000);
        assert_eq!(ts.to_string(), "19980615100045.014");
        assert_eq!(
            Timestamp::parse(b"20261124082839").unwrap().to_string(),
            "20261124082839"
        );
    }

    #[test]
    fn rejects_invalid_dates() {
        for bad in [
            &b"20260230000000"[..],
            b"20261324000000",
            b"20261124240000",
            b"2026112408283",
            b"20261124082839.",
            b"20261124082839.1234567890",
            b"2026112408283x",
            b"00001124082839",
        ] {
            assert_eq!(Timestamp::parse(bad), Err(InvalidTimestamp), "{bad:?}");
        }
        assert!(Timestamp::parse(b"20240229000000").is_ok());
        assert!(Timestamp::parse(b"21000229000000").is_err());
    }

    #[test]
    fn unix_conversion_matches_known_values() {
        // The fixture README gives m1795508919 = 2026-11-24 08:28:39 UTC.
        let ts = Timestamp::from_unix(1_795_508_919, 0).unwrap();
        assert_eq!(ts.to_string(), "20261124082839");
        assert_eq!(ts.unix_seconds(), 1_795_508_919);
        let old = Timestamp::from_unix(1_705_276_800, 0).unwrap();
        assert_eq!(old.to_string(), "20240115000000");
        let back = Timestamp::from_system_time(ts.to_system_time()).unwrap();
        assert_eq!(back, ts);
        assert_eq!(
            Timestamp::from_unix(0, 0).unwrap().to_string(),
            "19700101000000"
        );
    }
}
