//! `POST /v1/collect`: a collector for what devices upload (kept events and drop reports), so
//! demos and tests can run the whole loop (plan out, events and reports back) against one local
//! `trackgate serve`. A development tool, not an ingestion pipeline: it validates, caps and
//! appends, nothing more.
//!
//! - Bodies: `Content-Type: application/json` (one JSON object, or an array of objects) or
//!   `application/x-ndjson` (also `application/ndjson`, `application/jsonl`: one object per
//!   line; blank lines are ignored).
//! - Every item must be a JSON object. A body with any bad item, or with no item, is refused
//!   whole (400, naming the line or item): nothing of it is written.
//! - The body is capped (`--collect-max-bytes`, default 1 MiB): a larger `Content-Length` is
//!   refused before reading, a larger chunked body as soon as the cap is passed (413). It must
//!   arrive within [`BODY_TIMEOUT`] (408).
//! - Bodies held at once, all uploads together, are bounded by a byte budget
//!   (`--collect-budget-bytes`, default 32 MiB): before reading, an upload reserves its
//!   `Content-Length` (the body cap when chunked) and holds it until its lines are written; an
//!   upload that does not fit is answered 503 with `Retry-After: 1`. Parsing holds about as much
//!   again, so memory for uploads stays within a small multiple of the budget.
//! - The collect file is capped (`--collect-max-file-bytes`, default 1 GiB): an upload whose
//!   lines would take it past the cap is refused whole with 507 and logged; the file is never
//!   rotated or truncated.
//! - Accepted items are appended to the collect file as one compact JSON line each (keys in
//!   sorted order), all lines of one request in one write under a lock, so concurrent uploads
//!   never interleave inside a request. Answer: 204 with `X-Trackgate-Collected: <items>`.
//! - Other answers: 404 when the server runs without `--collect`, 405 for other methods, 415 for
//!   other content types, 500 when the file cannot be written. Error bodies are one line of
//!   plain text.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::server::ServerState;

/// Default cap on one upload's body, in bytes (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// Default byte budget for upload bodies held at once (32 MiB).
pub const DEFAULT_BUDGET_BYTES: u32 = 32 << 20;

/// Default cap on the collect file's size (1 GiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

/// Time allowed to receive one upload's body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Response header naming how many items a request appended.
pub const COLLECTED_HEADER: &str = "x-trackgate-collected";

/// The collect file, opened for appending, with its size, and the caps.
#[derive(Debug)]
pub struct Collector {
    /// The file and its size in bytes.
    file: Mutex<(File, u64)>,
    path: PathBuf,
    max_body_bytes: usize,
    budget: Arc<Semaphore>,
    budget_bytes: u32,
    max_file_bytes: u64,
}

/// Why lines were not appended.
enum AppendError {
    /// They would take the file past its cap: (current size, cap).
    Full(u64, u64),
    Io(io::Error),
}

impl Collector {
    /// Opens (creating if needed) `path` for appending; uploads larger than `max_body_bytes`
    /// are refused, bodies held at once are bounded by `budget_bytes`, and the file by
    /// `max_file_bytes`.
    pub fn open(path: &Path, max_body_bytes: usize, budget_bytes: u32, max_file_bytes: u64) -> io::Result<Collector> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(Collector {
            file: Mutex::new((file, size)),
            path: path.to_owned(),
            max_body_bytes,
            budget: Arc::new(Semaphore::new(budget_bytes as usize)),
            budget_bytes,
            max_file_bytes,
        })
    }

    /// The open file's identity (device, inode), to compare with the served directory's files.
    #[cfg(unix)]
    pub fn identity(&self) -> io::Result<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        let metadata = self.file.lock().unwrap_or_else(PoisonError::into_inner).0.metadata()?;
        Ok((metadata.dev(), metadata.ino()))
    }

    /// Where items are appended.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `lines` (each without a newline) in one write, unless that would take the file
    /// past its cap.
    fn append(&self, lines: &[String]) -> Result<(), AppendError> {
        let mut text = String::with_capacity(lines.iter().map(|line| line.len() + 1).sum());
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        let mut guard = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let (file, size) = &mut *guard;
        if size.saturating_add(text.len() as u64) > self.max_file_bytes {
            return Err(AppendError::Full(*size, self.max_file_bytes));
        }
        let written = file.write_all(text.as_bytes()).and_then(|()| file.flush());
        // On a failed write part of the text may be in the file: take the size from it.
        *size = match written {
            Ok(()) => *size + text.len() as u64,
            Err(_) => file.metadata().map_or(*size, |metadata| metadata.len()),
        };
        written.map_err(AppendError::Io)
    }
}

/// How a body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// One JSON document: an object or an array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

const ACCEPTED_TYPES: &str =
    "send application/json (one object or an array of objects) or application/x-ndjson (one object per line)";

/// The body format a `Content-Type` value names, or why it is not accepted.
pub fn body_format(content_type: Option<&str>) -> Result<BodyFormat, String> {
    let Some(content_type) = content_type else {
        return Err(format!("no Content-Type: {ACCEPTED_TYPES}"));
    };
    let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => Ok(BodyFormat::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/x-jsonlines" => {
            Ok(BodyFormat::Ndjson)
        }
        _ => Err(format!("unsupported Content-Type {content_type:?}: {ACCEPTED_TYPES}")),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The items of a body as compact JSON lines, or the first problem (naming the line of an
/// NDJSON body or the index of an array item). Every item must be an object; no item at all is
/// a problem too.
pub fn parse_items(format: BodyFormat, body: &[u8]) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    match format {
        BodyFormat::Json => match serde_json::from_slice::<Value>(body) {
            Ok(object @ Value::Object(_)) => items.push(object.to_string()),
            Ok(Value::Array(elements)) => {
                for (index, element) in elements.into_iter().enumerate() {
                    if !element.is_object() {
                        return Err(format!("item {index}: expected a JSON object, found {}", kind(&element)));
                    }
                    items.push(element.to_string());
                }
            }
            Ok(other) => return Err(format!("expected a JSON object or an array of objects, found {}", kind(&other))),
            Err(error) => return Err(format!("invalid JSON: {error}")),
        },
        BodyFormat::Ndjson => {
            for (index, line) in body.split(|&byte| byte == b'\n').enumerate() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let number = index + 1;
                match serde_json::from_slice::<Value>(line) {
                    Ok(object @ Value::Object(_)) => items.push(object.to_string()),
                    Ok(other) => return Err(format!("line {number}: expected a JSON object, found {}", kind(&other))),
                    Err(error) => return Err(format!("line {number}: invalid JSON: {error}")),
                }
            }
        }
    }
    if items.is_empty() {
        return Err("no items: the body holds no JSON object".to_owned());
    }
    Ok(items)
}

fn refuse(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("collect: {message}\n")).into_response()
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

enum BodyError {
    TooLarge,
    Read(axum::Error),
}

/// Reads `body` into one buffer (sized for `expected` bytes), failing as soon as it passes
/// `limit` bytes.
async fn read_body(mut body: Body, expected: usize, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::with_capacity(expected);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Read)?;
        if let Some(data) = frame.data_ref() {
            if bytes.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            bytes.extend_from_slice(data);
        }
    }
    Ok(bytes)
}

/// The `POST /v1/collect` handler.
pub async fn collect(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let Some(collector) = state.collector() else {
        return refuse(StatusCode::NOT_FOUND, "collection is off; start `trackgate serve` with --collect FILE");
    };
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let format = match body_format(content_type) {
        Ok(format) => format,
        Err(problem) => return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, problem),
    };
    let limit = collector.max_body_bytes;
    let too_large = |body: String| {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{body} is over the limit of {limit} bytes; send smaller batches"),
        )
    };
    if let Some(length) = declared_length(request.headers()).filter(|&length| length > limit as u64) {
        return too_large(format!("a body of {length} bytes"));
    }
    // Reserve the declared length (the cap when chunked) from the budget before reading; the
    // reservation is held until the lines are written.
    let reserve = declared_length(request.headers()).map_or(limit, |length| length as usize).min(limit);
    let reserve = u32::try_from(reserve).unwrap_or(u32::MAX).min(collector.budget_bytes);
    let Ok(_reservation) = Arc::clone(&collector.budget).try_acquire_many_owned(reserve) else {
        let mut response = refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("busy: {} bytes of uploads are being received; retry shortly", collector.budget_bytes),
        );
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
        return response;
    };
    let body = match tokio::time::timeout(BODY_TIMEOUT, read_body(request.into_body(), reserve as usize, limit)).await {
        Ok(Ok(body)) => body,
        Ok(Err(BodyError::TooLarge)) => return too_large("the body".to_owned()),
        Ok(Err(BodyError::Read(error))) => {
            return refuse(StatusCode::BAD_REQUEST, format!("cannot read the body: {error}"))
        }
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                format!("the body did not arrive within {} s", BODY_TIMEOUT.as_secs()),
            )
        }
    };
    let items = match parse_items(format, &body) {
        Ok(items) => items,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    drop(body);
    match collector.append(&items) {
        Ok(()) => {}
        Err(AppendError::Full(size, cap)) => {
            let message = format!(
                "the collect file {} is full ({size} bytes; cap {cap}, --collect-max-file-bytes): upload refused",
                collector.path().display()
            );
            eprintln!("trackgate serve: {message}");
            return refuse(StatusCode::INSUFFICIENT_STORAGE, message);
        }
        Err(AppendError::Io(error)) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot append to {}: {error}", collector.path().display()),
            );
        }
    }
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.headers_mut().insert(COLLECTED_HEADER, HeaderValue::from(items.len()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_choose_the_framing() {
        assert_eq!(body_format(Some("application/json; charset=utf-8")), Ok(BodyFormat::Json));
        assert_eq!(body_format(Some("Application/X-NDJSON")), Ok(BodyFormat::Ndjson));
        assert!(body_format(None).unwrap_err().contains("no Content-Type"));
        assert!(body_format(Some("text/plain")).unwrap_err().contains("unsupported Content-Type \"text/plain\""));
    }

    #[test]
    fn json_bodies_give_one_line_per_object() {
        assert_eq!(parse_items(BodyFormat::Json, br#"{"b": 1, "a": [1, 2]}"#), Ok(vec![r#"{"a":[1,2],"b":1}"#.into()]));
        let items = parse_items(BodyFormat::Json, b"[{\"x\": 1},\n {\"x\": 2}]").unwrap();
        assert_eq!(items, vec![r#"{"x":1}"#.to_owned(), r#"{"x":2}"#.to_owned()]);
        assert_eq!(
            parse_items(BodyFormat::Json, b"[{}, 3]"),
            Err("item 1: expected a JSON object, found a number".into())
        );
        assert!(parse_items(BodyFormat::Json, b"[]").unwrap_err().starts_with("no items"));
        assert!(parse_items(BodyFormat::Json, b"{\"x\": ").unwrap_err().starts_with("invalid JSON: EOF"));
    }

    #[test]
    fn ndjson_bodies_skip_blank_lines_and_name_the_bad_line() {
        let items = parse_items(BodyFormat::Ndjson, b"{\"x\": 1}\r\n\n  \n{\"x\": 2}").unwrap();
        assert_eq!(items, vec![r#"{"x":1}"#.to_owned(), r#"{"x":2}"#.to_owned()]);
        assert_eq!(
            parse_items(BodyFormat::Ndjson, b"{}\n\"text\"\n"),
            Err("line 2: expected a JSON object, found a string".into())
        );
        assert!(parse_items(BodyFormat::Ndjson, b"{}\n{\"x\" 1}")
            .unwrap_err()
            .starts_with("line 2: invalid JSON: expected `:`"));
        assert!(parse_items(BodyFormat::Ndjson, b"\n\n").unwrap_err().starts_with("no items"));
    }
}
