//! Calendar arithmetic on the proleptic Gregorian calendar, in UTC: days since 1970-01-01 to and
//! from a civil date (Howard Hinnant's `days_from_civil` / `civil_from_days`, exact for every
//! date, before and after 1970).
//!
//! The one home of this arithmetic: HTTP dates (`trackgate-delivery`), report dates (the CLI),
//! query-log timestamps (`trackgate-usage`) and release times (`trackgate-release`) format and
//! parse through it. Pure functions: no I/O, no allocation, no clock.

/// Days since 1970-01-01 (negative before) of the civil date `year`-`month`-`day`. `month` is
/// 1–12 and `day` 1–31; other values give a meaningless (but never panicking) result.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `(year, month 1–12, day 1–31)` of `days` since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// Unix seconds displayed as people read a UTC time: `2026-12-01 08:00:00 UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime(pub u64);

impl std::fmt::Display for UtcTime {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // u64 seconds reach about 2.1e14 days: far inside i64.
        let (year, month, day) = civil_from_days((self.0 / 86_400) as i64);
        let time = self.0 % 86_400;
        write!(
            formatter,
            "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
            time / 3600,
            time % 3600 / 60,
            time % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_texts() {
        assert_eq!(UtcTime(0).to_string(), "1970-01-01 00:00:00 UTC");
        assert_eq!(UtcTime(1_796_202_000).to_string(), "2026-12-02 09:00:00 UTC");
        assert_eq!(UtcTime(951_782_399).to_string(), "2000-02-28 23:59:59 UTC");
        assert_eq!(UtcTime(951_868_800).to_string(), "2000-03-01 00:00:00 UTC");
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(2_932_896), (9999, 12, 31));
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        for days in -146_097..=146_097 * 2 {
            let (year, month, day) = civil_from_days(days);
            assert!((1..=12).contains(&month) && (1..=31).contains(&day));
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }
}
