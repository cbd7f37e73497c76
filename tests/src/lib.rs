//! Shared helpers for the cross-crate integration tests: where the repository's shared test
//! vectors live and how to read them.

use std::path::PathBuf;

use serde::Deserialize;

/// The repository root (the parent of this crate).
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `tests/vectors/NAME`.
pub fn vector_path(name: &str) -> PathBuf {
    repository_root().join("tests").join("vectors").join(name)
}

/// The sampling vectors file (`tests/vectors/sampling.json`).
#[derive(Debug, Deserialize)]
pub struct SamplingVectors {
    /// Spec identifier, `trackgate-sampling-v1`.
    pub spec: String,
    /// The cases.
    pub cases: Vec<SamplingCase>,
}

/// One sampling case.
#[derive(Debug, Deserialize)]
pub struct SamplingCase {
    /// The salt.
    pub salt: String,
    /// The unit id.
    pub unit_id: String,
    /// Rate in parts per million.
    pub rate_ppm: u32,
    /// The unit's 56-bit sampling value as 16 hex digits.
    pub rv: String,
    /// Whether the unit is kept at this rate.
    pub keep: bool,
}

/// Reads and parses the sampling vectors.
pub fn sampling_vectors() -> SamplingVectors {
    let path = vector_path("sampling.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}
