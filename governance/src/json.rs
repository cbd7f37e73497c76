//! Reading JSON documents with the place of every problem: line, column and JSON path.
//!
//! One reader for the governance files (proposal, policy, registrations, the report read back):
//! serde with the path of the value that failed, and nothing but white space allowed after the
//! document.

use serde::de::DeserializeOwned;

/// A problem in a JSON document: where (1-based line and column, JSON path) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {path}: {message}")]
pub struct DocumentError {
    /// 1-based line (0 when the problem has no single place, e.g. a rule across fields).
    pub line: usize,
    /// 1-based column, in bytes.
    pub column: usize,
    /// JSON path of the value, `$` for the whole document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl DocumentError {
    /// A problem known by its JSON path only (a rule between fields, checked after parsing).
    pub fn at_path(path: impl Into<String>, message: impl Into<String>) -> DocumentError {
        DocumentError { line: 0, column: 0, path: path.into(), message: message.into() }
    }

    fn from_serde(path: String, error: &serde_json::Error) -> DocumentError {
        let message = error.to_string();
        let message = message.rfind(" at line ").map_or(message.as_str(), |index| &message[..index]).to_owned();
        DocumentError { line: error.line(), column: error.column(), path, message }
    }
}

/// Parses one JSON document of type `T`; anything but white space after it is refused.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, DocumentError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let path = if path == "." { "$".to_owned() } else { format!("$.{}", path.trim_start_matches('.')) };
        DocumentError::from_serde(path, error.inner())
    })?;
    deserializer.end().map_err(|error| DocumentError::from_serde("$".to_owned(), &error))?;
    Ok(value)
}

/// Checks a versioned document's `format` before its fields are read: the expected one is
/// accepted, a newer version of the same family is refused as newer (so an old build never
/// misreads a new file), anything else as the wrong kind of file.
pub fn check_format(text: &str, expected: &str) -> Result<(), DocumentError> {
    #[derive(serde::Deserialize)]
    struct Probe {
        format: Option<serde_json::Value>,
    }
    let probe: Probe = parse(text)?;
    let (family, version) = expected.rsplit_once('/').unwrap_or((expected, "1"));
    let at = |message: String| DocumentError::at_path("$.format", message);
    match probe.format {
        Some(serde_json::Value::String(found)) if found == expected => Ok(()),
        Some(serde_json::Value::String(found)) => {
            let newer = found
                .strip_prefix(family)
                .and_then(|rest| rest.strip_prefix('/'))
                .and_then(|number| number.parse::<u64>().ok())
                .zip(version.parse::<u64>().ok())
                .is_some_and(|(found, known)| found > known);
            if newer {
                Err(at(format!("`{found}` is newer than this build reads (`{expected}`); use a newer trackgate")))
            } else {
                Err(at(format!("expected `{expected}`, found `{found}`")))
            }
        }
        Some(_) => Err(at(format!("expected the string `{expected}`"))),
        None => Err(at(format!("missing; expected `{expected}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        format: String,
        items: Vec<u32>,
    }

    #[test]
    fn problems_have_line_column_and_path() {
        let error = parse::<Doc>("{\"format\": \"x\",\n \"items\": [1, -2]}").unwrap_err();
        assert_eq!((error.line, error.column, error.path.as_str()), (2, 16, "$.items[1]"));
        assert!(error.message.starts_with("invalid value"), "{error}");
        let trailing = parse::<Doc>("{\"format\": \"x\", \"items\": []} x").unwrap_err();
        assert_eq!(trailing.path, "$");
    }

    #[test]
    fn formats_are_checked_before_fields() {
        assert!(check_format(r#"{"format": "kind/1"}"#, "kind/1").is_ok());
        let newer = check_format(r#"{"format": "kind/2", "new": 1}"#, "kind/1").unwrap_err();
        assert!(newer.message.contains("newer than this build reads"), "{newer}");
        let other = check_format(r#"{"format": "other/1"}"#, "kind/1").unwrap_err();
        assert_eq!(other.message, "expected `kind/1`, found `other/1`");
        assert!(check_format("{}", "kind/1").unwrap_err().message.starts_with("missing"));
    }
}
