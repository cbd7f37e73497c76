//! `trackgate build`: validate a plan JSON file, encode it and sign it into an envelope: with
//! one `--key`, format 1 (what every release reads); with several keys or `--format 2`,
//! format 2, one signature per key over the same signed digest (more can be added later with
//! `trackgate sign`; with `--format 2` and no key the envelope is unsigned, for co-signing).

use std::path::PathBuf;

use clap::Args;
use trackgate_delivery::{parse_envelope, seal_plan, seal_plan_v2, KeyId, PublishError, SigningKey};

use super::{read_signing_key, unix_now};
use crate::validate::read_plan;
use crate::Failure;

/// Arguments of `trackgate build`.
#[derive(Args)]
pub struct BuildArgs {
    /// The plan JSON file.
    plan: PathBuf,
    /// A signing key file: `signing.key` from `trackgate keygen` (first line `trackgate signing
    /// key v1`). A public key, or bare hex digits, are refused. Repeat for several signers
    /// (format 2). Example: `trackgate build plan.json --key keys/signing.key --version 8 --out
    /// plan-8.tgplan`; co-signed: `--key business/signing.key --key technical/signing.key`.
    #[arg(long = "key")]
    keys: Vec<PathBuf>,
    /// Envelope format: 1 (one key; read by every release) or 2 (any number of keys, for
    /// co-signing; read by releases from format 2 on). Default: 1 with one key, 2 with several.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=2))]
    format: Option<u16>,
    /// The plan version to publish; must exceed every version already published for this
    /// app and env. Replaces the plan's own `version`.
    #[arg(long = "version")]
    plan_version: u64,
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
    // The keys first: a wrong key file is refused before any plan work or output.
    let mut keys: Vec<(SigningKey, Option<String>)> = Vec::with_capacity(args.keys.len());
    for path in &args.keys {
        keys.push(read_signing_key(path)?);
    }
    if keys.is_empty() && args.format != Some(2) {
        return Err(Failure::error(
            "give --key (the signing key), or --format 2 without a key for an unsigned envelope to co-sign".to_owned(),
        ));
    }
    let format = args.format.unwrap_or(if keys.len() == 1 { 1 } else { 2 });
    if format == 1 && keys.len() != 1 {
        return Err(Failure::error(format!(
            "format 1 carries exactly one signature; {} --key given (use --format 2 to co-sign)",
            keys.len()
        )));
    }
    let (mut plan, warnings) = read_plan(&args.plan)?;
    for warning in &warnings {
        eprintln!("{}:{warning}", args.plan.display());
    }
    if plan.version != args.plan_version {
        eprintln!("note: plan says version {}; publishing it as version {}", plan.version, args.plan_version);
        plan.version = args.plan_version;
    }
    let issued_at = args.issued_at.unwrap_or_else(unix_now);
    let expires_at = issued_at.saturating_add(args.expires);
    let sealed = if format == 1 {
        seal_plan(&plan, &keys[0].0, issued_at, expires_at)
    } else {
        let signers: Vec<&SigningKey> = keys.iter().map(|(key, _)| key).collect();
        seal_plan_v2(&plan, &signers, issued_at, expires_at)
    };
    let envelope = sealed.map_err(|error| match error {
        PublishError::InvalidPlan(diagnostics) => {
            let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            Failure::refused(format!("{}: invalid plan\n  {}", args.plan.display(), lines.join("\n  ")))
        }
        PublishError::Seal(error) => Failure::refused(error.to_string()),
    })?;
    crate::files::write_output(&args.out, &envelope)?;
    let signers: Vec<String> = keys.iter().map(|(key, role)| signer(key, role.as_deref())).collect();
    let signed_by =
        if signers.is_empty() { "unsigned".to_owned() } else { format!("signed by {}", signers.join(", ")) };
    outln!(
        "{}: {}/{} version {} with {} events, {} bytes, format {format}, {signed_by}, expires {}",
        args.out.display(),
        plan.app,
        plan.env,
        plan.version,
        plan.events.len(),
        envelope.len(),
        super::format_time(expires_at)
    );
    if format == 2 {
        // What co-signers approve: the same digest whoever signs.
        let digest = parse_envelope(&envelope, usize::MAX).map(|parsed| parsed.signed_digest()).unwrap_or_default();
        outln!("signed digest {}", trackgate_delivery::envelope::to_hex(&digest));
    }
    Ok(())
}

/// `key 0123456789abcdef` or `key 0123456789abcdef (business)`.
pub fn signer(key: &SigningKey, role: Option<&str>) -> String {
    let id = KeyId::of(key.verifying_key().as_bytes());
    match role {
        Some(role) => format!("key {id} ({role})"),
        None => format!("key {id}"),
    }
}
