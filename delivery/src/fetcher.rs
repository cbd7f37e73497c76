//! When to ask the server for a new plan, and what its answers mean: a sans-IO state machine.
//!
//! The [`Fetcher`] never performs I/O and never reads a clock: the host passes the time, and
//! performs the request it is handed through a [`Transport`] (or its own HTTP stack), then
//! passes the reply back. Behaviour (normative, `docs/config-delivery.md`, "Fetch schedule"):
//! single flight; `If-None-Match`/304; `Retry-After` on 429/503; persisted full-jitter
//! exponential backoff; long backoff on 401/403/404; a refresh interval from
//! `Cache-Control: max-age` clamped to [15 min, 24 h]; `refresh_now` and `on_foreground` with
//! minimum gaps; and a hard budget of requests per hour. Randomness comes from an injected [`RandomSource`].
//!
//! The server's `Date` is unsigned: it is the reference for a `Retry-After` given as a date
//! (whose delay is clamped like any other) and is offered, for one response only, through
//! [`Fetcher::response_date`]; it is never persisted and never moves trusted time
//! (`docs/config-delivery.md`, "Trusted time").
//!
//! Not thread-safe by itself (`&mut self`); `Delivery` owns it. Allocation: one request
//! (URL and two headers) per fetch.

use crate::envelope::DEFAULT_MAX_ENVELOPE_BYTES;
use crate::random::RandomSource;
use crate::store::FetchState;
use crate::transport::{parse_http_date, HttpRequest, HttpResponse, TransportError};

/// Timing rules of the fetch schedule, in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Where the plan is served (`.../v1/plans/{app}/{env}`).
    pub url: String,
    /// First backoff ceiling after a failure.
    pub backoff_base_seconds: u64,
    /// Largest backoff ceiling.
    pub backoff_cap_seconds: u64,
    /// Shortest delay before a retry, so a jitter draw near zero cannot make a tight loop.
    pub min_retry_seconds: u64,
    /// Wait after 401, 403 or 404: the server says this device should not ask (soon).
    pub long_backoff_seconds: u64,
    /// Largest `Retry-After` honoured.
    pub max_retry_after_seconds: u64,
    /// Refresh interval when the server names none.
    pub default_refresh_seconds: u64,
    /// Shortest refresh interval a server may ask for.
    pub min_refresh_seconds: u64,
    /// Longest refresh interval a server may ask for.
    pub max_refresh_seconds: u64,
    /// Shortest gap between a request and a `refresh_now` request.
    pub refresh_now_min_gap_seconds: u64,
    /// Shortest gap between a request and an `on_foreground` request.
    pub foreground_min_gap_seconds: u64,
    /// A request not completed after this long no longer blocks the next one.
    pub in_flight_timeout_seconds: u64,
    /// Largest response body read.
    pub max_body_bytes: usize,
    /// Hard cap on requests per clock hour window, whatever the server does (flapping between
    /// success and failure resets the backoff each time); 6 gives at most 144 a day.
    pub max_requests_per_hour: u32,
    /// The app's public rollout salt (by convention `app/env`); when set, requests carry the
    /// device's rollout bucket so the server can stage releases (`crate::rollout`). `None`:
    /// no bucket is sent and the device only gets a release once it reaches 100 %.
    pub rollout_salt: Option<String>,
}

impl Schedule {
    /// The documented defaults for a plan URL.
    pub fn new(url: impl Into<String>) -> Schedule {
        Schedule {
            url: url.into(),
            backoff_base_seconds: 30,
            backoff_cap_seconds: 6 * HOUR,
            min_retry_seconds: 5,
            long_backoff_seconds: 6 * HOUR,
            max_retry_after_seconds: 24 * HOUR,
            default_refresh_seconds: HOUR,
            min_refresh_seconds: 15 * MINUTE,
            max_refresh_seconds: 24 * HOUR,
            refresh_now_min_gap_seconds: MINUTE,
            foreground_min_gap_seconds: 15 * MINUTE,
            in_flight_timeout_seconds: 2 * MINUTE,
            max_body_bytes: DEFAULT_MAX_ENVELOPE_BYTES,
            max_requests_per_hour: 6,
            rollout_salt: None,
        }
    }
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;

/// Why a request brought no plan: no HTTP answer, or a status that carries none. The
/// `Display` text is what logs and `Status::last_error` show (`transport: Timeout: ...`,
/// `HTTP 503, retry after 30 s`, `HTTP 404: long backoff`, `HTTP 500`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The request produced no HTTP answer.
    #[error("transport: {0}")]
    Transport(TransportError),
    /// The server answered with a status other than 200 or 304; the schedule backed off (for
    /// `Retry-After` seconds on 429 and 503 when the server sent one, clamped).
    #[error("HTTP {status}{}", RetryAfter(*retry_after_seconds))]
    Status {
        /// The status code.
        status: u16,
        /// The server's `Retry-After` as delay seconds, unclamped (429 and 503 only).
        retry_after_seconds: Option<u64>,
    },
    /// 401, 403 or 404: the server says this device should not ask (soon); long backoff.
    #[error("HTTP {status}: long backoff")]
    LongBackoff {
        /// The status code.
        status: u16,
    },
}

/// `, retry after N s` when the server named a delay, nothing otherwise.
struct RetryAfter(Option<u64>);

impl std::fmt::Display for RetryAfter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(seconds) => write!(formatter, ", retry after {seconds} s"),
            None => Ok(()),
        }
    }
}

/// What a reply means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 200: a plan to verify; then call [`Fetcher::plan_accepted`] or [`Fetcher::plan_refused`].
    Plan {
        /// The envelope bytes.
        body: Vec<u8>,
        /// The `ETag` to remember if the plan is accepted.
        etag: Option<String>,
        /// The refresh interval the server asked for, unclamped.
        max_age: Option<u64>,
    },
    /// 304: the plan is current. The schedule was updated.
    NotModified,
    /// Anything else. The schedule was updated (backoff).
    Failed(FetchError),
}

/// The fetch schedule.
pub struct Fetcher {
    schedule: Schedule,
    state: FetchState,
    in_flight_since: Option<u64>,
    requested_at: Option<u64>,
    response_date: Option<u64>,
    random: Box<dyn RandomSource>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Fetcher").field("state", &self.state).finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher resuming from persisted state.
    pub fn new(schedule: Schedule, state: FetchState, random: Box<dyn RandomSource>) -> Fetcher {
        Fetcher { schedule, state, in_flight_since: None, requested_at: None, response_date: None, random }
    }

    /// The persisted part, to save after every change.
    pub fn state(&self) -> &FetchState {
        &self.state
    }

    /// The `Date` of the latest response, Unix seconds; `None` without one (or after a
    /// transport error). Unsigned and unbounded: never persisted, replaced by every response,
    /// and only fit for decisions that cannot refuse a plan (see `Delivery`).
    pub fn response_date(&self) -> Option<u64> {
        self.response_date
    }

    /// Forgets the `ETag` (when the cached plan it named could not be loaded).
    pub fn forget_etag(&mut self) {
        self.state.etag = None;
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The refresh interval in force.
    pub fn refresh_interval(&self) -> u64 {
        self.state.refresh_interval_seconds.unwrap_or(self.schedule.default_refresh_seconds)
    }

    /// When the next request is due, Unix seconds (a time not after `now` means "now").
    pub fn due_at(&self, now: u64) -> u64 {
        // A deadline further ahead than any rule allows means the device clock moved back:
        // do not wait for it.
        let horizon = now.saturating_add(self.schedule.max_retry_after_seconds.max(self.schedule.max_refresh_seconds));
        let routine = match (self.state.backoff_until_unix, self.state.last_success_unix) {
            (Some(backoff_until), _) => backoff_until,
            (None, Some(last_success)) => last_success.saturating_add(self.refresh_interval()),
            (None, None) => 0,
        };
        let routine = if routine > horizon { now } else { routine };
        let due = match self.requested_at {
            // An explicit request comes earlier, but never before a backoff deadline.
            Some(requested) => routine.min(requested.max(self.state.backoff_until_unix.unwrap_or(0))),
            None => routine,
        };
        due.max(self.budget_refill_at(now))
    }

    /// When the hourly request budget allows another request (0 when it does now).
    fn budget_refill_at(&self, now: u64) -> u64 {
        match self.state.budget_window_start_unix {
            Some(start)
                if now >= start
                    && now < start + HOUR
                    && self.state.budget_window_requests >= self.schedule.max_requests_per_hour =>
            {
                start + HOUR
            }
            _ => 0,
        }
    }

    fn spend_budget(&mut self, now: u64) {
        match self.state.budget_window_start_unix {
            Some(start) if now >= start && now < start + HOUR => self.state.budget_window_requests += 1,
            // A new window (or the clock moved back): start counting afresh.
            _ => {
                self.state.budget_window_start_unix = Some(now);
                self.state.budget_window_requests = 1;
            }
        }
    }

    /// Whether a request is under way.
    pub fn is_in_flight(&self, now: u64) -> bool {
        self.in_flight_since.is_some_and(|since| now < since.saturating_add(self.schedule.in_flight_timeout_seconds))
    }

    /// The request to perform now, if one is due and none is under way (single flight).
    pub fn poll(&mut self, now: u64) -> Option<HttpRequest> {
        if self.is_in_flight(now) || now < self.due_at(now) {
            return None;
        }
        self.in_flight_since = Some(now);
        self.requested_at = None;
        self.spend_budget(now);
        self.state.last_attempt_unix = Some(now);
        let mut headers = vec![("Accept".to_owned(), "application/vnd.trackgate.plan".to_owned())];
        if let Some(etag) = &self.state.etag {
            headers.push(("If-None-Match".to_owned(), etag.clone()));
        }
        Some(HttpRequest { url: self.schedule.url.clone(), headers, body_limit: self.schedule.max_body_bytes })
    }

    /// Asks for a request as soon as allowed: at least `refresh_now_min_gap_seconds` after the
    /// last one, and never during a backoff.
    pub fn refresh_now(&mut self, now: u64) {
        self.request_after_gap(now, self.schedule.refresh_now_min_gap_seconds);
    }

    /// The app came to the foreground: refresh if the last request is older than
    /// `foreground_min_gap_seconds`.
    pub fn on_foreground(&mut self, now: u64) {
        self.request_after_gap(now, self.schedule.foreground_min_gap_seconds);
    }

    fn request_after_gap(&mut self, now: u64, gap: u64) {
        let earliest = self.state.last_attempt_unix.map_or(now, |last| last.saturating_add(gap).max(now));
        self.requested_at = Some(self.requested_at.map_or(earliest, |already| already.min(earliest)));
    }

    /// Interprets the outcome of the request [`Fetcher::poll`] handed out.
    pub fn on_response(&mut self, now: u64, result: Result<HttpResponse, TransportError>) -> Reply {
        self.in_flight_since = None;
        self.response_date = None;
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                self.fail(now, None);
                return Reply::Failed(FetchError::Transport(error));
            }
        };
        self.response_date = response.header("Date").and_then(parse_http_date);
        let max_age = response.header("Cache-Control").and_then(parse_max_age);
        match response.status {
            200 => Reply::Plan { etag: response.header("ETag").map(str::to_owned), max_age, body: response.body },
            304 => {
                self.succeed(now, max_age);
                Reply::NotModified
            }
            429 | 503 => {
                let retry_after =
                    response.header("Retry-After").and_then(|value| parse_retry_after(value, &response, now));
                self.fail(now, retry_after);
                Reply::Failed(FetchError::Status { status: response.status, retry_after_seconds: retry_after })
            }
            401 | 403 | 404 => {
                self.fail_long(now);
                Reply::Failed(FetchError::LongBackoff { status: response.status })
            }
            status => {
                self.fail(now, None);
                Reply::Failed(FetchError::Status { status, retry_after_seconds: None })
            }
        }
    }

    /// The plan of a 200 reply was accepted (or was already current).
    pub fn plan_accepted(&mut self, now: u64, etag: Option<String>, max_age: Option<u64>) {
        self.state.etag = etag;
        self.succeed(now, max_age);
    }

    /// The plan of a 200 reply was refused: the server is misbehaving, back off.
    pub fn plan_refused(&mut self, now: u64) {
        self.fail(now, None);
    }

    fn succeed(&mut self, now: u64, max_age: Option<u64>) {
        self.state.consecutive_failures = 0;
        self.state.backoff_until_unix = None;
        self.state.last_success_unix = Some(now);
        self.state.refresh_interval_seconds = Some(max_age.map_or(self.schedule.default_refresh_seconds, |seconds| {
            seconds.clamp(self.schedule.min_refresh_seconds, self.schedule.max_refresh_seconds)
        }));
    }

    fn fail(&mut self, now: u64, retry_after: Option<u64>) {
        self.state.consecutive_failures = self.state.consecutive_failures.saturating_add(1);
        let delay = match retry_after {
            Some(seconds) => seconds.clamp(self.schedule.min_retry_seconds, self.schedule.max_retry_after_seconds),
            None => self.full_jitter_delay(),
        };
        self.state.backoff_until_unix = Some(now.saturating_add(delay));
    }

    fn fail_long(&mut self, now: u64) {
        self.state.consecutive_failures = self.state.consecutive_failures.saturating_add(1);
        // Up to 10% jitter so a fleet told 404 at once does not come back at once.
        let spread = self.schedule.long_backoff_seconds / 10 + 1;
        let delay = self.schedule.long_backoff_seconds + self.random.next_u64() % spread;
        self.state.backoff_until_unix = Some(now.saturating_add(delay));
    }

    /// "Full jitter": uniform in [0, min(cap, base * 2^(failures-1))], floored at
    /// `min_retry_seconds`.
    fn full_jitter_delay(&mut self) -> u64 {
        let doublings = self.state.consecutive_failures.saturating_sub(1).min(32);
        let ceiling =
            self.schedule.backoff_base_seconds.saturating_mul(1u64 << doublings).min(self.schedule.backoff_cap_seconds);
        let draw = self.random.next_u64() % ceiling.saturating_add(1);
        draw.max(self.schedule.min_retry_seconds)
    }
}

/// `max-age=N` from a `Cache-Control` value.
pub fn parse_max_age(value: &str) -> Option<u64> {
    value.split(',').find_map(|directive| {
        let (name, seconds) = directive.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("max-age").then(|| seconds.trim().trim_matches('"').parse().ok())?
    })
}

/// `Retry-After` as delay seconds: either seconds, or an HTTP date taken relative to the
/// response's `Date` (or to `now` without one). Both are unsigned, so the caller clamps the
/// delay to the [`Schedule`]'s `[min_retry_seconds, max_retry_after_seconds]` (in `fail`): a
/// forged pair can delay the next request by at most a day by default.
fn parse_retry_after(value: &str, response: &HttpResponse, now: u64) -> Option<u64> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(seconds);
    }
    let at = parse_http_date(value)?;
    let reference = response.header("Date").and_then(parse_http_date).unwrap_or(now);
    Some(at.saturating_sub(reference))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SplitMix64;
    use crate::transport::TransportErrorKind;

    #[test]
    fn max_age_is_found_among_directives() {
        assert_eq!(parse_max_age("public, max-age=3600"), Some(3600));
        assert_eq!(parse_max_age("no-cache"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let schedule = Schedule { max_requests_per_hour: u32::MAX, ..Schedule::new("http://127.0.0.1/v1/plans/a/b") };
        let mut fetcher = Fetcher::new(schedule, FetchState::default(), Box::new(SplitMix64::new(1)));
        let mut now = 1_000_000;
        for failure in 1..40u32 {
            assert!(fetcher.poll(now).is_some());
            fetcher.on_response(now, Err(TransportError { kind: TransportErrorKind::Timeout, message: "t".into() }));
            let delay = fetcher.due_at(now) - now;
            let ceiling = (30u64 << (failure - 1).min(32)).min(6 * HOUR);
            assert!((5..=ceiling.max(5)).contains(&delay), "failure {failure}: delay {delay}");
            assert!(fetcher.poll(now).is_none(), "no request during backoff");
            now += delay;
        }
    }

    #[test]
    fn hourly_budget_caps_requests_even_when_every_answer_resets_the_backoff() {
        let schedule = Schedule::new("http://127.0.0.1/p");
        let mut fetcher = Fetcher::new(schedule, FetchState::default(), Box::new(SplitMix64::new(1)));
        let mut sent = 0;
        for second in 0..HOUR {
            let now = 1_000_000 + second;
            fetcher.refresh_now(now);
            if fetcher.poll(now).is_some() {
                sent += 1;
                fetcher.on_response(now, Ok(HttpResponse { status: 304, ..HttpResponse::default() }));
            }
        }
        assert_eq!(sent, 6);
        assert_eq!(fetcher.due_at(1_000_000 + HOUR - 1), 1_000_000 + HOUR);
    }

    #[test]
    fn failures_are_typed_and_read_as_before() {
        let schedule = Schedule { max_requests_per_hour: u32::MAX, ..Schedule::new("http://127.0.0.1/p") };
        let mut fetcher = Fetcher::new(schedule, FetchState::default(), Box::new(SplitMix64::new(1)));
        let status = |status: u16, headers: &[(&str, &str)]| {
            let headers = headers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
            Ok(HttpResponse { status, headers, body: Vec::new() })
        };
        let timeout = TransportError { kind: TransportErrorKind::Timeout, message: "30 s".into() };
        let cases: [(Result<HttpResponse, TransportError>, FetchError, &str); 4] = [
            (Err(timeout.clone()), FetchError::Transport(timeout), "transport: Timeout: 30 s"),
            (
                status(503, &[("Retry-After", "30")]),
                FetchError::Status { status: 503, retry_after_seconds: Some(30) },
                "HTTP 503, retry after 30 s",
            ),
            (status(404, &[]), FetchError::LongBackoff { status: 404 }, "HTTP 404: long backoff"),
            (status(500, &[]), FetchError::Status { status: 500, retry_after_seconds: None }, "HTTP 500"),
        ];
        for (now, (result, expected, text)) in (1_000_000..).step_by(100_000).zip(cases) {
            assert!(fetcher.poll(now).is_some(), "{text}");
            assert_eq!(fetcher.on_response(now, result), Reply::Failed(expected.clone()));
            assert_eq!(expected.to_string(), text);
        }
    }

    #[test]
    fn single_flight_until_answer_or_timeout() {
        let schedule = Schedule::new("http://127.0.0.1/p");
        let mut fetcher = Fetcher::new(schedule, FetchState::default(), Box::new(SplitMix64::new(1)));
        assert!(fetcher.poll(100).is_some());
        assert!(fetcher.poll(101).is_none());
        assert!(fetcher.poll(100 + 121).is_some(), "a lost request stops blocking after the timeout");
    }
}
