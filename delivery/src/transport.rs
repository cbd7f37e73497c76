//! HTTP as the fetcher sees it: the request it hands the host, the answer it gets back, the
//! [`Transport`] trait a host may implement to perform requests, and the IMF-fixdate dates of
//! `Date` and `Retry-After` headers (calendar arithmetic from [`trackgate_core::civil`]).
//!
//! Plain values, no I/O: a transport (the CLI's `ureq` one in [`crate::http`], or the app's
//! platform stack through the FFI) does the network work.

use trackgate_core::civil;

/// A GET request the host must perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Absolute URL.
    pub url: String,
    /// Header names and values (`If-None-Match`, `Accept`).
    pub headers: Vec<(String, String)>,
    /// The transport must stop reading the body after this many bytes and fail with
    /// [`TransportErrorKind::BodyTooLarge`].
    pub body_limit: usize,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (any case) and values.
    pub headers: Vec<(String, String)>,
    /// The body, at most the request's `body_limit` bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, names compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// Broad classes of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// Could not connect (refused, DNS, TLS).
    Connect,
    /// No complete answer in time.
    Timeout,
    /// The body was longer than the limit.
    BodyTooLarge,
    /// The connection broke or the answer was not HTTP.
    Protocol,
}

/// A request that produced no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct TransportError {
    /// The class.
    pub kind: TransportErrorKind,
    /// Details for logs.
    pub message: String,
}

/// Performs HTTP GETs for the fetcher. Implementations must honour
/// [`HttpRequest::body_limit`] while reading (never buffer an unbounded body), must not follow
/// redirects to another scheme, and should apply their own connect and read timeouts.
pub trait Transport {
    /// Performs the request.
    fn get(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7) to Unix seconds.
/// The obsolete RFC 850 and asctime forms are not accepted (servers must not send them).
pub fn parse_http_date(text: &str) -> Option<u64> {
    let mut parts = text.trim().split_ascii_whitespace();
    let weekday = parts.next()?;
    if weekday.len() != 4 || !weekday.ends_with(',') {
        return None;
    }
    let day: u64 = parts.next().filter(|day| day.len() == 2)?.parse().ok()?;
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|name| *name == month_name)? as u64 + 1;
    let year: u64 = parts.next().filter(|year| year.len() == 4)?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|field| field.parse::<u64>().ok().filter(|_| field.len() == 2));
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || parts.next().is_some() || clock.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || year < 1970 {
        return None;
    }
    let days = u64::try_from(civil::days_from_civil(year as i64, month as u32, day as u32)).ok()?;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Formats Unix seconds as an IMF-fixdate (for servers and tests).
pub fn format_http_date(unix_seconds: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = unix_seconds / 86_400;
    let seconds = unix_seconds % 86_400;
    let (year, month, day) = civil::civil_from_days(days as i64);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[month as usize - 1],
        seconds / 3_600,
        seconds % 3_600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        for seconds in [0, 784_111_777, 951_782_400, 1_700_000_000, 4_102_444_799] {
            assert_eq!(parse_http_date(&format_http_date(seconds)), Some(seconds), "{}", format_http_date(seconds));
        }
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(parse_http_date("garbage"), None);
    }
}
