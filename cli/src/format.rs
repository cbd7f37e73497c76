//! Number and text formatting shared by the terminal views (demo, report) and the HTML report.
//! Pure functions. Percentages are written `12.3%` everywhere.

/// `1234567` → `1,234,567`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Money with two decimals and grouped thousands: `1234.5` → `1,234.50`.
pub fn money(value: f64) -> String {
    let cents = (value.abs() * 100.0).round() as u64;
    let sign = if value < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", count(cents / 100), cents % 100)
}

/// Bytes in decimal units: `1500000` → `1.5 MB`.
pub fn bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut scaled = value as f64;
    let mut unit = 0;
    while scaled >= 1000.0 && unit + 1 < UNITS.len() {
        scaled /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value} B")
    } else {
        format!("{scaled:.1} {}", UNITS[unit])
    }
}

/// A share as a percentage with one decimal: `0.1234` → `12.3%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A signed change as a percentage: `0.25` → `+25.0%`.
pub fn change(share: f64) -> String {
    format!("{:+.1}%", share * 100.0)
}

/// An event name for display: the empty name (an invalid name that arrives) is shown as such.
pub fn event_name(name: &str) -> &str {
    if name.is_empty() {
        "(empty name)"
    } else {
        name
    }
}

/// The text cut to `width` characters, marking the cut: `fit("a.very.long.name", 8)` →
/// `a.very.…`.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// Escapes text for HTML element content and attribute values.
pub fn html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(money(1234.5), "1,234.50");
        assert_eq!(money(-0.004), "0.00");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_500_000), "1.5 MB");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(change(-0.5), "-50.0%");
        assert_eq!(html("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn sizes_in_decimal_units() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_000), "1.0 kB");
        assert_eq!(bytes(2_500_000), "2.5 MB");
        assert_eq!(bytes(3_210_000_000), "3.2 GB");
    }

    #[test]
    fn percentages_have_one_decimal_and_no_space() {
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(change(0.25), "+25.0%");
        assert_eq!(change(-0.004), "-0.4%");
    }

    #[test]
    fn fits_long_names() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("a.very.long.event.name", 10), "a.very.lo…");
    }
}
