//! `trackgate build`: validate a plan JSON file, encode it and sign it into an envelope.

use std::path::PathBuf;

use clap::Args;
use trackgate_delivery::{seal_plan, KeyId, PublishError};

use super::{read_signing_key, unix_now};
use crate::validate::read_plan;
use crate::Failure;

/// Arguments of `trackgate build`.
#[derive(Args)]
pub struct BuildArgs {
    /// The plan JSON file.
    plan: PathBuf,
    /// The signing key file: `signing.key` from `trackgate keygen` (first line `trackgate signing
    /// key v1`). A public key, or bare hex digits, are refused. Example: `trackgate build
    /// plan.json --key keys/signing.key --version 8 --out plan-8.tgplan`.
    #[arg(long)]
    key: PathBuf,
    /// The config version to publish; must exceed every version already published for this
    /// app and env. Replaces the plan's own `version`.
    #[arg(long = "version")]
    config_version: u64,
    /// How long devices accept the plan: `30d`, `12h`, `90m` or seconds.
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    expires: u64,
    /// Signing time, Unix seconds (default: now). For reproducible builds.
    #[arg(long)]
    issued_at: Option<u64>,
    /// Where to write the envelope.
    #[arg(long)]
    out: PathBuf,
}

/// Parses `30d`, `12h`, `90m`, `45s` or plain seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((index, unit)) if unit.is_ascii_alphabetic() => (&text[..index], unit),
        _ => (text, 's'),
    };
    let value: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 30d, 12h, 90m or 3600"))?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return Err(format!("unknown unit `{unit}` in `{text}`: use s, m, h or d")),
    };
    value.checked_mul(scale).filter(|&seconds| seconds > 0).ok_or_else(|| format!("`{text}` is out of range"))
}

/// Runs `trackgate build`.
pub fn run(args: &BuildArgs) -> Result<(), Failure> {
    // The key first: a wrong key file is refused before any plan work or output.
    let key = read_signing_key(&args.key)?;
    let (mut plan, warnings) = read_plan(&args.plan)?;
    for warning in &warnings {
        eprintln!("{}:{warning}", args.plan.display());
    }
    if plan.version != args.config_version {
        eprintln!("note: plan says version {}; publishing it as version {}", plan.version, args.config_version);
        plan.version = args.config_version;
    }
    let issued_at = args.issued_at.unwrap_or_else(unix_now);
    let expires_at = issued_at.saturating_add(args.expires);
    let envelope = seal_plan(&plan, &key, issued_at, expires_at).map_err(|error| match error {
        PublishError::InvalidPlan(diagnostics) => {
            let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            Failure::refused(format!("{}: invalid plan\n  {}", args.plan.display(), lines.join("\n  ")))
        }
        PublishError::Seal(error) => Failure::refused(error.to_string()),
    })?;
    std::fs::write(&args.out, &envelope)
        .map_err(|error| Failure::error(format!("cannot write {}: {error}", args.out.display())))?;
    outln!(
        "{}: {}/{} version {} with {} events, {} bytes, signed by key {}, expires {}",
        args.out.display(),
        plan.app,
        plan.env,
        plan.version,
        plan.events.len(),
        envelope.len(),
        KeyId::of(key.verifying_key().as_bytes()),
        super::format_time(expires_at)
    );
    Ok(())
}
