//! `trackgate sign ENVELOPE --key K`: adds one signature to a format-2 envelope (co-signing)
//! without changing a byte of what was signed, so each reviewer signs the same release
//! independently. Writes the result atomically (a temporary file renamed over the target) to
//! `--out`, or back to ENVELOPE.
//!
//! Refuses a format-1 envelope (it holds one signature), a key that already signed, and a full
//! signature block (16). Does not judge the other signatures: devices do, by their keyring
//! (`trackgate inspect --keyring` shows the verdict).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use trackgate_delivery::envelope::to_hex;
use trackgate_delivery::{add_signature, parse_envelope};

use super::build::signer;
use super::read_signing_key;
use crate::files::{read_capped, ENVELOPE_CAP};
use crate::Failure;

/// Arguments of `trackgate sign`.
#[derive(Args)]
pub struct SignArgs {
    /// The format-2 envelope to co-sign (from `trackgate build --format 2` or with several
    /// `--key`).
    envelope: PathBuf,
    /// The signing key file (`signing.key` from `trackgate keygen`). Example: `trackgate sign
    /// plan-8.tgplan --key keys/technical/signing.key`.
    #[arg(long)]
    key: PathBuf,
    /// Where to write the co-signed envelope (default: replace ENVELOPE).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `trackgate sign`.
pub fn run(args: &SignArgs) -> Result<(), Failure> {
    let (key, role) = read_signing_key(&args.key)?;
    let bytes = read_capped(&args.envelope, ENVELOPE_CAP, "envelope")?;
    let signed = add_signature(&bytes, &key)
        .map_err(|error| Failure::refused(format!("{}: {error}", args.envelope.display())))?;
    let out = args.out.as_deref().unwrap_or(&args.envelope);
    write_atomic(out, &signed)?;
    let parsed =
        parse_envelope(&signed, usize::MAX).map_err(|error| Failure::error(format!("{}: {error}", out.display())))?;
    outln!(
        "{}: {}/{} version {}: added signature {} by {}; {} signature(s)",
        out.display(),
        parsed.header.app,
        parsed.header.env,
        parsed.header.config_version,
        parsed.signatures.len() - 1,
        signer(&key, role.as_deref()),
        parsed.signatures.len()
    );
    outln!("signed digest {} (unchanged)", to_hex(&parsed.signed_digest()));
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`, so a
/// crash leaves the old envelope or the new one, never half of one.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let failure = |error: std::io::Error| Failure::error(format!("cannot write {}: {error}", path.display()));
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(error) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(failure(error));
    }
    Ok(())
}
