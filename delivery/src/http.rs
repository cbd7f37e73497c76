//! A blocking HTTP(S) [`Transport`] over `ureq` with rustls: for the CLI, tools and tests.
//!
//! Only built with the `http` feature; apps normally hand requests to their platform's HTTP
//! stack instead. Each call blocks the calling thread for at most the configured timeout and
//! reads at most the request's `body_limit` bytes of body. Redirects are followed up to three
//! times; HTTP error statuses are returned as responses, not errors, so the fetcher sees them.

use std::time::Duration;

use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};

/// A `ureq` agent with connect and overall timeouts.
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport whose requests give up after `timeout` in all (connect, headers, body).
    pub fn new(timeout: Duration) -> UreqTransport {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(3)
            .build();
        UreqTransport { agent: ureq::Agent::new_with_config(config) }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        UreqTransport::new(Duration::from_secs(30))
    }
}

fn transport_error(error: ureq::Error) -> TransportError {
    let kind = match &error {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::BodyExceedsLimit(_) => TransportErrorKind::BodyTooLarge,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => TransportErrorKind::Connect,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => TransportErrorKind::Timeout,
        _ => TransportErrorKind::Protocol,
    };
    TransportError { kind, message: error.to_string() }
}

impl Transport for UreqTransport {
    fn get(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = self.agent.get(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder.call().map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(request.body_limit as u64)
            .read_to_vec()
            .map_err(transport_error)?;
        Ok(HttpResponse { status, headers, body })
    }
}
