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
//!   refused before reading, a larger chunked body as soon as the cap is passed (413).
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

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use super::server::ServerState;

/// Default cap on one upload's body, in bytes (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// Response header naming how many items a request appended.
pub const COLLECTED_HEADER: &str = "x-trackgate-collected";

/// The collect file, opened for appending, and the body cap.
#[derive(Debug)]
pub struct Collector {
    file: Mutex<File>,
    path: PathBuf,
    max_body_bytes: usize,
}

impl Collector {
    /// Opens (creating if needed) `path` for appending; uploads larger than `max_body_bytes`
    /// are refused.
    pub fn open(path: &Path, max_body_bytes: usize) -> io::Result<Collector> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Collector { file: Mutex::new(file), path: path.to_owned(), max_body_bytes })
    }

    /// Where items are appended.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `lines` (each without a newline) in one write.
    fn append(&self, lines: &[String]) -> io::Result<()> {
        let mut text = String::with_capacity(lines.iter().map(|line| line.len() + 1).sum());
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(text.as_bytes())?;
        file.flush()
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
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => return too_large("the body".to_owned()),
        Err(error) => return refuse(StatusCode::BAD_REQUEST, format!("cannot read the body: {error}")),
    };
    let items = match parse_items(format, &body) {
        Ok(items) => items,
        Err(problem) => return refuse(StatusCode::BAD_REQUEST, problem),
    };
    if let Err(error) = collector.append(&items) {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot append to {}: {error}", collector.path().display()),
        );
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
