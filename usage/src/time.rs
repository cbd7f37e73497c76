//! Timestamps of log lines: Unix milliseconds or RFC 3339 / `YYYY-MM-DD[ HH:MM:SS]` text (UTC).
//!
//! Owns reading a timestamp and writing one back as text. No clock is read here: the window's end
//! is the caller's `now` or the latest timestamp in the logs. Calendar arithmetic is the core's
//! (`trackgate_core::civil`).

use trackgate_core::civil::{civil_from_days, days_from_civil};

/// Milliseconds since the Unix epoch of `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH:MM]`.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |from: usize, len: usize| -> Option<i64> {
        let slice = text.get(from..from + len)?;
        slice.bytes().all(|byte| byte.is_ascii_digit()).then(|| slice.parse().ok())?
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut millis = days_from_civil(year, month as u32, day as u32) * 86_400_000;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(millis);
    }
    if !(rest.starts_with('T') || rest.starts_with(' ')) || rest.len() < 6 {
        return None;
    }
    let (hour, minute) = (number(11, 2)?, number(14, 2)?);
    if text.as_bytes().get(13) != Some(&b':') || hour > 23 || minute > 59 {
        return None;
    }
    millis += (hour * 60 + minute) * 60_000;
    let mut index = 16;
    if bytes.get(index) == Some(&b':') {
        let second = number(17, 2)?;
        millis += second * 1000;
        index = 19;
        if bytes.get(index) == Some(&b'.') {
            let digits: String = text[index + 1..].chars().take_while(char::is_ascii_digit).collect();
            let fraction: String = digits.chars().chain("000".chars()).take(3).collect();
            millis += fraction.parse::<i64>().ok()?;
            index += 1 + digits.len();
        }
    }
    match &text[index..] {
        "" | "Z" | "z" => Some(millis),
        offset if offset.len() == 6 && (offset.starts_with('+') || offset.starts_with('-')) => {
            let hours: i64 = offset.get(1..3)?.parse().ok()?;
            let minutes: i64 = offset.get(4..6)?.parse().ok()?;
            let shift = (hours * 60 + minutes) * 60_000;
            Some(if offset.starts_with('+') { millis - shift } else { millis + shift })
        }
        _ => None,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix milliseconds.
pub fn format_timestamp(millis: i64) -> String {
    let (year, month, day) = civil_from_days(millis.div_euclid(86_400_000));
    let in_day = millis.rem_euclid(86_400_000) / 1000;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", in_day / 3600, in_day / 60 % 60, in_day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        assert_eq!(parse_timestamp("2026-11-01T00:00:00Z"), Some(1_793_491_200_000));
        assert_eq!(parse_timestamp("2026-11-01 01:00:00+01:00"), Some(1_793_491_200_000));
        assert_eq!(parse_timestamp("2026-11-01T00:00:00.5Z"), Some(1_793_491_200_500));
        assert_eq!(format_timestamp(1_793_491_261_000), "2026-11-01T00:01:01Z");
        assert_eq!(format_timestamp(951_782_400_000), "2000-02-29T00:00:00Z");
        for bad in
            ["", "2026-13-01", "2026-11-01X", "yesterday", "2026-11-01T25:00", "2026-11-01T00:00+0é:0", "2026-11-0é"]
        {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
