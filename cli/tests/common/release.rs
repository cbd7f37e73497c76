//! Shared set-up of the release tests: a scratch directory with the two reviewers' key pairs,
//! the previous and the next plan written beside them, and `trackgate release` run at a given
//! time (`--now`), so stage durations are injected, never waited for.

use std::path::PathBuf;

use super::{keygen, scratch, trackgate, Run};

/// A release test's directory.
pub struct ReleaseScratch {
    /// The scratch directory.
    pub directory: PathBuf,
    /// `directory/plans`, what `trackgate serve` serves (created, empty).
    pub plans: PathBuf,
    /// The business reviewer's signing key file.
    pub business: PathBuf,
    /// The technical reviewer's signing key file.
    pub technical: PathBuf,
    /// The business reviewer's `public.hex`.
    pub business_hex: PathBuf,
    /// The technical reviewer's `public.hex`.
    pub technical_hex: PathBuf,
}

/// A fresh scratch directory `name` with both reviewers' keys and the two plans, as
/// `directory/previous.json` and `directory/next.json`.
pub fn release_scratch(name: &str, previous: &str, next: &str) -> ReleaseScratch {
    let directory = scratch(name);
    let plans = directory.join("plans");
    std::fs::create_dir_all(&plans).expect("the scratch directory is writable");
    let (business, _, business_hex) = keygen(&directory.join("business"));
    let (technical, _, technical_hex) = keygen(&directory.join("technical"));
    std::fs::write(directory.join("previous.json"), previous).expect("the scratch directory is writable");
    std::fs::write(directory.join("next.json"), next).expect("the scratch directory is writable");
    ReleaseScratch { directory, plans, business, technical, business_hex, technical_hex }
}

/// Runs `trackgate release ARGUMENTS --now NOW`.
pub fn release(arguments: &[&str], now: u64) -> Run {
    let now = now.to_string();
    let mut all = vec!["release"];
    all.extend_from_slice(arguments);
    all.extend_from_slice(&["--now", &now]);
    trackgate(&all)
}
