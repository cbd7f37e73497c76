//! The job's configuration as the native library reads it: one JSON object, parsed and checked
//! once when a [`StreamFilter`](crate::StreamFilter) is made, every problem named by its key.

use serde::Deserialize;
use trackgate_delivery::{Keyring, VerifyPolicy};
use trackgate_etl::{FieldConfig, FieldPath, SizeSource};

use crate::StreamError;

/// The JSON form (`streaming/flink/README.md`, "Configuration"). Unknown keys are refused so a
/// misspelt option is not silently ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    app: String,
    env: String,
    trusted_keys: Vec<String>,
    #[serde(default = "default_name_field")]
    name_field: String,
    #[serde(default = "default_unit_field")]
    unit_field: String,
    #[serde(default = "default_size_from")]
    size_from: String,
    #[serde(default = "default_malformed_listed")]
    malformed_listed: usize,
    #[serde(default = "default_track_names")]
    track_names: usize,
    #[serde(default = "default_max_envelope_bytes")]
    max_envelope_bytes: usize,
}

/// The server's default envelope cap: a plan of `MAX_EVENTS` (1,000,000) events signs to about
/// 19 MB, and the backend governs every registered event, so the device default (8 MiB, about
/// 440,000 events) is too small here.
pub const DEFAULT_STREAM_MAX_ENVELOPE_BYTES: usize = 32 << 20;

/// The range `max_envelope_bytes` accepts: 1 KiB to 256 MiB.
const MAX_ENVELOPE_BYTES_RANGE: std::ops::RangeInclusive<usize> = (1 << 10)..=(256 << 20);

fn default_name_field() -> String {
    "event".into()
}
fn default_unit_field() -> String {
    "unit_id".into()
}
fn default_size_from() -> String {
    "line".into()
}
fn default_malformed_listed() -> usize {
    100
}
fn default_track_names() -> usize {
    10_000
}
fn default_max_envelope_bytes() -> usize {
    DEFAULT_STREAM_MAX_ENVELOPE_BYTES
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The app whose plans this job accepts (the scope check).
    pub app: String,
    /// The environment whose plans this job accepts.
    pub env: String,
    /// The trusted publisher keys.
    pub keyring: Keyring,
    /// Which members the filter reads.
    pub fields: FieldConfig,
    /// Malformed lines listed one by one per stats record (all are counted).
    pub malformed_listed: usize,
    /// Names not in the plan tracked one by one per stats record.
    pub track_names: usize,
    /// Envelope limits: as on devices, except the size cap (`max_envelope_bytes`, default
    /// [`DEFAULT_STREAM_MAX_ENVELOPE_BYTES`]).
    pub policy: VerifyPolicy,
}

impl StreamConfig {
    /// Parses the JSON configuration, naming the key of any problem.
    pub fn parse(text: &[u8]) -> Result<StreamConfig, StreamError> {
        let raw: RawConfig = serde_json::from_slice(text).map_err(|error| StreamError::Config(error.to_string()))?;
        let mut keyring = Keyring::new();
        for (index, key) in raw.trusted_keys.iter().enumerate() {
            keyring
                .add_hex(key.trim())
                .map_err(|error| StreamError::Config(format!("trusted_keys[{index}]: {error}")))?;
        }
        if keyring.is_empty() {
            return Err(StreamError::Config("trusted_keys: at least one key is needed".into()));
        }
        let path = |key: &str, text: &str| -> Result<FieldPath, StreamError> {
            text.parse().map_err(|error| StreamError::Config(format!("{key}: {error}")))
        };
        if !MAX_ENVELOPE_BYTES_RANGE.contains(&raw.max_envelope_bytes) {
            return Err(StreamError::Config(format!(
                "max_envelope_bytes: {} is outside {} to {} bytes",
                raw.max_envelope_bytes,
                MAX_ENVELOPE_BYTES_RANGE.start(),
                MAX_ENVELOPE_BYTES_RANGE.end()
            )));
        }
        let size: SizeSource =
            raw.size_from.parse().map_err(|error| StreamError::Config(format!("size_from: {error}")))?;
        Ok(StreamConfig {
            app: raw.app,
            env: raw.env,
            keyring,
            fields: FieldConfig {
                name: path("name_field", &raw.name_field)?,
                unit: path("unit_field", &raw.unit_field)?,
                size,
            },
            malformed_listed: raw.malformed_listed,
            track_names: raw.track_names,
            policy: VerifyPolicy { max_envelope_bytes: raw.max_envelope_bytes, ..VerifyPolicy::default() },
        })
    }
}
