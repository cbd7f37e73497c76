//! The app's HTTP stack as a foreign trait, [`HttpTransport`], and its adapter to the delivery
//! crate's [`Transport`].
//!
//! Apps implement `HttpTransport` in Kotlin, Swift or Python with whatever client they already
//! use (OkHttp, URLSession, ...); the delivery crate's sans-IO fetcher decides when to call it
//! and what the answer means. The adapter only converts types and contains failures:
//! - a foreign exception that is not a [`TransportError`] arrives as
//!   `UnexpectedUniFFICallbackError` and becomes a `Protocol` failure;
//! - a Rust implementation that panics is caught (`catch_unwind`) and becomes a `Protocol`
//!   failure, so the fetch schedule is completed and backs off instead of being left in flight;
//! - a body longer than the request's `body_limit` (the transport broke its contract) is
//!   refused as `BodyTooLarge` before anything parses it.
//!
//! Threading: `get` is called on the thread that called the fetch method, with no gate lock
//! held, and may block for as long as the transport's own timeouts allow.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use trackgate_delivery::{Transport, TransportErrorKind};

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// Header name (any case).
    pub name: String,
    /// Header value.
    pub value: String,
}

/// A GET request the app's HTTP stack must perform.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// Absolute URL (`GateOptions.plan_url`).
    pub url: String,
    /// Headers to send (`Accept`, and `If-None-Match` when a plan from this server is cached).
    pub headers: Vec<HttpHeader>,
    /// Stop reading the body after this many bytes and fail with `BodyTooLarge`.
    pub body_limit: u64,
}

/// What the server answered. Return every status as a response (including 304, 404, 429 and
/// 503): the gate's schedule reads them; only failures to get an answer are errors.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Response headers; `ETag`, `Cache-Control`, `Retry-After` and `Date` are read.
    pub headers: Vec<HttpHeader>,
    /// The body, at most the request's `body_limit` bytes.
    pub body: Vec<u8>,
}

/// A request that produced no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    /// Could not connect (refused, DNS, TLS).
    #[error("connect: {reason}")]
    Connect {
        /// Details for logs.
        reason: String,
    },
    /// No complete answer in time.
    #[error("timeout: {reason}")]
    Timeout {
        /// Details for logs.
        reason: String,
    },
    /// The body was longer than the request's `body_limit`.
    #[error("body too large: {reason}")]
    BodyTooLarge {
        /// Details for logs.
        reason: String,
    },
    /// The connection broke or the answer was not HTTP; also any other exception the
    /// transport threw.
    #[error("protocol: {reason}")]
    Protocol {
        /// Details for logs.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> TransportError {
        TransportError::Protocol { reason: format!("transport threw an unexpected exception: {}", error.reason) }
    }
}

/// The app's HTTP client. Implementations must honour `body_limit` while reading (never buffer
/// an unbounded body), must not follow redirects to another scheme, should apply connect and
/// read timeouts, and may be called from any thread (one request at a time per gate).
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    /// Performs the GET and returns the server's answer, whatever its status.
    fn get(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// The delivery crate's view of an app transport.
pub(crate) struct TransportAdapter<'transport>(pub(crate) &'transport Arc<dyn HttpTransport>);

impl Transport for TransportAdapter<'_> {
    fn get(
        &self,
        request: &trackgate_delivery::HttpRequest,
    ) -> Result<trackgate_delivery::HttpResponse, trackgate_delivery::TransportError> {
        let body_limit = request.body_limit;
        let foreign_request = HttpRequest {
            url: request.url.clone(),
            headers: request
                .headers
                .iter()
                .map(|(name, value)| HttpHeader { name: name.clone(), value: value.clone() })
                .collect(),
            body_limit: u64::try_from(body_limit).unwrap_or(u64::MAX),
        };
        let transport = self.0;
        let result = catch_unwind(AssertUnwindSafe(|| transport.get(foreign_request))).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            Err(TransportError::Protocol { reason: format!("transport panicked: {what}") })
        });
        let delivery_error = |kind, message| trackgate_delivery::TransportError { kind, message };
        match result {
            Ok(response) if response.body.len() > body_limit => Err(delivery_error(
                TransportErrorKind::BodyTooLarge,
                format!("transport returned {} body bytes, more than the limit of {body_limit}", response.body.len()),
            )),
            Ok(response) => Ok(trackgate_delivery::HttpResponse {
                status: response.status,
                headers: response.headers.into_iter().map(|header| (header.name, header.value)).collect(),
                body: response.body,
            }),
            Err(TransportError::Connect { reason }) => Err(delivery_error(TransportErrorKind::Connect, reason)),
            Err(TransportError::Timeout { reason }) => Err(delivery_error(TransportErrorKind::Timeout, reason)),
            Err(TransportError::BodyTooLarge { reason }) => {
                Err(delivery_error(TransportErrorKind::BodyTooLarge, reason))
            }
            Err(TransportError::Protocol { reason }) => Err(delivery_error(TransportErrorKind::Protocol, reason)),
        }
    }
}
