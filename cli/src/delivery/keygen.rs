//! `trackgate keygen`: a new Ed25519 publisher key pair.
//!
//! Writes into a directory `signing.key` (mode 0600: the line `trackgate signing key v1`, then
//! 64 hex digits of the secret seed), `public.key` (`trackgate public key v1`, then 64 hex
//! digits) and `public.hex` (the 64 hex digits alone, what apps embed), and prints the key id
//! apps will see in envelopes. The header lines let every command refuse a key of the wrong
//! kind; with `--role ROLE` they end in ` role=ROLE` (the publisher's label for the key, e.g.
//! `business` or `technical`; devices take roles from their own keyring). Refuses to overwrite
//! an existing key.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use trackgate_delivery::envelope::to_hex;
use trackgate_delivery::{KeyId, SigningKey};

use super::{PUBLIC_KEY_HEADER, ROLE_MARK, SIGNING_KEY_HEADER};
use crate::Failure;

/// Arguments of `trackgate keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Directory to write `signing.key`, `public.key` and `public.hex` into (created if
    /// missing). Example: `trackgate keygen --out keys/`.
    #[arg(long)]
    out: PathBuf,
    /// The key's role, recorded in both key files' header lines (`trackgate signing key v1
    /// role=business`): 1 to 32 of a-z, 0-9, `_`, `-`, `.`. Example: `trackgate keygen --out
    /// keys/business --role business`.
    #[arg(long)]
    role: Option<String>,
}

/// Runs `trackgate keygen`.
pub fn run(args: &KeygenArgs) -> Result<(), Failure> {
    if let Some(role) = args.role.as_deref().filter(|role| !trackgate_delivery::keyring::is_role_name(role)) {
        return Err(Failure::error(format!("--role {role}: a role is 1 to 32 of a-z, 0-9, `_`, `-`, `.`")));
    }
    let mark = args.role.as_deref().map(|role| format!("{ROLE_MARK}{role}")).unwrap_or_default();
    std::fs::create_dir_all(&args.out)
        .map_err(|error| Failure::error(format!("cannot create {}: {error}", args.out.display())))?;
    let signing_path = args.out.join("signing.key");
    let public_path = args.out.join("public.key");
    let hex_path = args.out.join("public.hex");
    // Nothing is written when any of the three exists, so a pair is never half replaced.
    for path in [&signing_path, &public_path, &hex_path] {
        if path.exists() {
            return Err(Failure::error(format!("{} exists; an existing key is never overwritten", path.display())));
        }
    }
    let mut seed = [0u8; 32];
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut seed)
        .map_err(|error| Failure::error(format!("the operating system's random generator failed: {error}")))?;
    let key = SigningKey::from_bytes(&seed);
    let public_hex = to_hex(key.verifying_key().as_bytes());
    write_new(&signing_path, &format!("{SIGNING_KEY_HEADER}{mark}\n{}", to_hex(&seed)), true)?;
    write_new(&public_path, &format!("{PUBLIC_KEY_HEADER}{mark}\n{public_hex}"), false)?;
    write_new(&hex_path, &public_hex, false)?;
    let key_id = KeyId::of(key.verifying_key().as_bytes());
    match &args.role {
        Some(role) => outln!("key id {key_id} (role {role})"),
        None => outln!("key id {key_id}"),
    }
    outln!("signing key {} (keep it secret: mode 0600)", signing_path.display());
    outln!("public key  {} (for --pubkey)", public_path.display());
    outln!("public hex  {} (the 64 hex digits apps embed in their keyring)", hex_path.display());
    Ok(())
}

/// Creates `path` (never overwriting) with `text`; secret files get mode 0600 from creation.
fn write_new(path: &Path, text: &str, secret: bool) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).map_err(|error| {
        Failure::error(format!("cannot create {} (an existing key is never overwritten): {error}", path.display()))
    })?;
    file.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| Failure::error(format!("cannot write {}: {error}", path.display())))
}
