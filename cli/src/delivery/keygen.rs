//! `trackgate keygen`: a new Ed25519 publisher key pair.
//!
//! Writes `signing.key` (mode 0600, 64 hex digits of the secret seed) and `public.key` (64 hex
//! digits) into a directory, and prints the key id apps will see in envelopes. Refuses to
//! overwrite an existing key.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use trackgate_delivery::envelope::to_hex;
use trackgate_delivery::{KeyId, SigningKey};

use crate::Failure;

/// Arguments of `trackgate keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Directory to write `signing.key` and `public.key` into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

/// Runs `trackgate keygen`.
pub fn run(args: &KeygenArgs) -> Result<(), Failure> {
    std::fs::create_dir_all(&args.out)
        .map_err(|error| Failure::error(format!("cannot create {}: {error}", args.out.display())))?;
    let signing_path = args.out.join("signing.key");
    let public_path = args.out.join("public.key");
    let mut seed = [0u8; 32];
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut seed)
        .map_err(|error| Failure::error(format!("the operating system's random generator failed: {error}")))?;
    let key = SigningKey::from_bytes(&seed);
    write_new(&signing_path, &to_hex(&seed), true)?;
    write_new(&public_path, &to_hex(key.verifying_key().as_bytes()), false)?;
    let key_id = KeyId::of(key.verifying_key().as_bytes());
    println!("key id {key_id}");
    println!("signing key {} (keep it secret: mode 0600)", signing_path.display());
    println!("public key  {} (add it to the apps' keyring)", public_path.display());
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
