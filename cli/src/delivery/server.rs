//! The plan server's routes and catalog, kept apart from the command so routes can be added to
//! [`router`] without touching startup or reloading.
//!
//! `GET /v1/plans/{app}/{env}` serves the newest signed envelope for that scope with a strong
//! `ETag`, answers 304 when `If-None-Match` matches, and sets `Cache-Control: max-age`. During a
//! release the envelope depends on the device's `Trackgate-Rollout-Bucket` header (hostile
//! input: anything but 1 to 4 digits below 10000 counts as no header, which is outside every
//! partial share) and on the release record ([`super::catalog::Catalog::choose`]); responses
//! then carry `Vary: Trackgate-Rollout-Bucket`.
//! `POST /v1/collect` appends uploaded events and drop reports to a file when the server has a
//! collector (see [`super::collect`]). Every request is logged to stderr. The catalog (see
//! [`super::catalog`]) is an immutable snapshot swapped whole after each rescan.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::catalog::Catalog;
use super::collect::{collect, Collector};

/// Shared server state.
#[derive(Debug)]
pub struct ServerState {
    catalog: RwLock<Arc<Catalog>>,
    max_age: u64,
    collector: Option<Collector>,
}

impl ServerState {
    /// An empty catalog; plans are served with `Cache-Control: max-age=<max_age>`. No collector:
    /// `POST /v1/collect` answers 404.
    pub fn new(max_age: u64) -> ServerState {
        ServerState { catalog: RwLock::new(Arc::new(Catalog::default())), max_age, collector: None }
    }

    /// Enables `POST /v1/collect`, appending to `collector`'s file.
    pub fn with_collector(self, collector: Collector) -> ServerState {
        ServerState { collector: Some(collector), ..self }
    }

    /// The collector, if collection is on.
    pub fn collector(&self) -> Option<&Collector> {
        self.collector.as_ref()
    }

    /// Replaces the catalog.
    pub fn replace(&self, catalog: Catalog) {
        *self.catalog.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(catalog);
    }

    fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// The routes. Add new endpoints here.
pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/v1/plans/{app}/{env}", get(get_plan))
        .route("/v1/collect", post(collect))
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn(log_request))
}

async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let response = next.run(request).await;
    eprintln!("{method} {uri} {} {:.1} ms", response.status().as_u16(), started.elapsed().as_secs_f64() * 1000.0);
    response
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such route\n").into_response()
}

/// Whether an `If-None-Match` value names `etag` (weak comparison, as RFC 9110 requires).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.trim() == "*"
        || if_none_match.split(',').any(|candidate| candidate.trim().trim_start_matches("W/") == etag)
}

async fn get_plan(
    State(state): State<Arc<ServerState>>,
    UrlPath((app, env)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let catalog = state.catalog();
    let scope = (app, env);
    let bucket = trackgate_release::parse_bucket_header(
        headers.get(trackgate_delivery::ROLLOUT_BUCKET_HEADER).map(HeaderValue::as_bytes),
    );
    let released = catalog.releases.contains_key(&scope);
    let Some(plan) = catalog.choose(&scope, bucket, super::unix_now()) else {
        return (StatusCode::NOT_FOUND, "no plan for this app and env\n").into_response();
    };
    let cache_control = format!("max-age={}", state.max_age);
    let mut response = match headers.get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()) {
        Some(value) if etag_matches(value, &plan.etag) => StatusCode::NOT_MODIFIED.into_response(),
        _ => Response::new(Body::from(plan.bytes.clone())),
    };
    let response_headers = response.headers_mut();
    for (name, value) in [
        (header::ETAG, plan.etag.as_str()),
        (header::CACHE_CONTROL, cache_control.as_str()),
        (header::CONTENT_TYPE, "application/vnd.trackgate.plan"),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            response_headers.insert(name, value);
        }
    }
    if released {
        response_headers.insert(header::VARY, HeaderValue::from_static(trackgate_delivery::ROLLOUT_BUCKET_HEADER));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::etag_matches;

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        assert!(etag_matches("\"a\"", "\"a\""));
        assert!(etag_matches("\"b\", W/\"a\"", "\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }
}
