//! `trackgate serve --collect`: uploads over real HTTP on 127.0.0.1 to the built binary, and the
//! collect file they leave. Requests are written by hand on a `TcpStream` so every header (or
//! its absence) is exactly what the test says.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{path, serve_scratch, ServeProcess};

fn scratch(name: &str) -> PathBuf {
    serve_scratch(&format!("collect-{name}"))
}

/// A running `trackgate serve --collect ...` and hand-written requests to it.
struct Server {
    process: ServeProcess,
}

impl Server {
    fn start(directory: &Path, extra: &[&str]) -> Server {
        let plans = directory.join("plans");
        let arguments: Vec<&str> = std::iter::once(path(&plans)).chain(extra.iter().copied()).collect();
        Server { process: ServeProcess::start(&arguments) }
    }

    /// Sends `head` (request line and headers, without the blank line) and `body`; returns the
    /// status code, the headers (lower-case names) and the body.
    fn send(&self, head: &str, body: &[u8]) -> (u16, Vec<(String, String)>, String) {
        let mut stream = TcpStream::connect(self.process.address()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let request = format!("{head}\r\nHost: {}\r\nConnection: close\r\n\r\n", self.process.address());
        stream.write_all(request.as_bytes()).unwrap();
        // The server may answer (413) before reading the whole body and close; that is fine.
        let _ = stream.write_all(body);
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        (status, headers, body.to_owned())
    }

    /// POSTs `body` with this `Content-Type` (none if `None`) and a `Content-Length`.
    fn post(&self, content_type: Option<&str>, body: &str) -> (u16, Vec<(String, String)>, String) {
        let mut head = format!("POST /v1/collect HTTP/1.1\r\nContent-Length: {}", body.len());
        if let Some(content_type) = content_type {
            head.push_str(&format!("\r\nContent-Type: {content_type}"));
        }
        self.send(&head, body.as_bytes())
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn assert_status(answer: &(u16, Vec<(String, String)>, String), status: u16, body_contains: &str) {
    assert_eq!(answer.0, status, "answer: {answer:?}");
    assert!(answer.2.contains(body_contains), "expected {body_contains:?} in {:?}", answer.2);
}

#[test]
fn json_and_ndjson_uploads_are_appended_one_line_per_item() {
    let directory = scratch("append");
    let file = directory.join("collected.ndjson");
    let server = Server::start(&directory, &["--collect", path(&file)]);

    let one = server.post(Some("application/json"), r#"{"type": "event", "name": "app.opened"}"#);
    assert_status(&one, 204, "");
    assert_eq!(header(&one.1, "x-trackgate-collected"), Some("1"));

    let array = r#"[{"type": "event", "name": "a"},
                    {"type": "event", "name": "b", "props": {"k": [1, 2]}}]"#;
    let two = server.post(Some("application/json; charset=utf-8"), array);
    assert_status(&two, 204, "");
    assert_eq!(header(&two.1, "x-trackgate-collected"), Some("2"));

    let ndjson =
        "{\"type\": \"event\", \"name\": \"c\"}\r\n\n{\"type\": \"drop_report\", \"report\": {\"offered\": 3}}\n";
    let three = server.post(Some("application/x-ndjson"), ndjson);
    assert_status(&three, 204, "");
    assert_eq!(header(&three.1, "x-trackgate-collected"), Some("2"));

    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"name":"app.opened","type":"event"}"#,
            r#"{"name":"a","type":"event"}"#,
            r#"{"name":"b","props":{"k":[1,2]},"type":"event"}"#,
            r#"{"name":"c","type":"event"}"#,
            r#"{"report":{"offered":3},"type":"drop_report"}"#,
        ]
    );
    assert!(text.ends_with('\n'));
}

#[test]
fn bad_uploads_are_refused_whole_with_a_reason_and_nothing_is_written() {
    let directory = scratch("refused");
    let file = directory.join("collected.ndjson");
    let server = Server::start(&directory, &["--collect", path(&file), "--collect-max-bytes", "64"]);

    // The good first line must not be written either: a body is accepted whole or not at all.
    let answer = server.post(Some("application/x-ndjson"), "{\"ok\": 1}\n{\"bad\" 2}\n");
    assert_status(&answer, 400, "collect: line 2: invalid JSON: expected `:`");
    assert_status(
        &server.post(Some("application/json"), "[{}, 7]"),
        400,
        "item 1: expected a JSON object, found a number",
    );
    assert_status(&server.post(Some("application/json"), "\"text\""), 400, "expected a JSON object or an array");
    assert_status(&server.post(Some("application/x-ndjson"), "\n \n"), 400, "no items");
    let not_utf8 = server.send(
        "POST /v1/collect HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 10",
        b"{\"a\": \"\xff\"}",
    );
    assert_status(&not_utf8, 400, "invalid JSON: invalid unicode code point");
    assert_status(&server.post(Some("text/plain"), "{}"), 415, "unsupported Content-Type \"text/plain\"");
    assert_status(&server.post(None, "{}"), 415, "no Content-Type");

    let big = format!("{{\"padding\": \"{}\"}}", "x".repeat(100));
    let declared = server.post(Some("application/json"), &big);
    assert_status(&declared, 413, "a body of 115 bytes is over the limit of 64 bytes");
    // Chunked: no Content-Length, so the cap is met while reading.
    let chunked = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let streamed = server.send(
        "POST /v1/collect HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked",
        chunked.as_bytes(),
    );
    assert_status(&streamed, 413, "the body is over the limit of 64 bytes");

    assert_eq!(server.send("GET /v1/collect HTTP/1.1", b"").0, 405);
    assert_eq!(std::fs::read(&file).unwrap(), b"", "refused uploads must leave the file untouched");

    // The cap is inclusive: a body of exactly 64 bytes is accepted.
    let exact = format!("{{\"p\": \"{}\"}}", "y".repeat(64 - 9));
    assert_eq!(exact.len(), 64);
    assert_status(&server.post(Some("application/json"), &exact), 204, "");
}

#[test]
fn without_collect_the_route_says_how_to_turn_it_on() {
    let directory = scratch("off");
    let server = Server::start(&directory, &[]);
    assert_status(&server.post(Some("application/json"), "{}"), 404, "start `trackgate serve` with --collect FILE");
}

#[test]
fn a_collect_file_inside_the_plan_directory_is_refused() {
    let directory = scratch("inside");
    let plans = directory.join("plans");
    let output = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(["serve", path(&plans), "--addr", "127.0.0.1:0", "--collect", path(&plans.join("collected.ndjson"))])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("put the collect file outside"), "{stderr}");
    assert!(!plans.join("collected.ndjson").exists());
}
