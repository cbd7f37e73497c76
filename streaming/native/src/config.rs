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
}

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
    /// Envelope limits, as on devices.
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
            policy: VerifyPolicy::default(),
        })
    }
}
