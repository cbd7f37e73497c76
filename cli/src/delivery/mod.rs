//! Signed plan delivery commands: the publisher's side (`keygen`, `build`, `inspect`, `diff`,
//! `serve`) and the device's side as a command (`fetch`). The format and rules are those of
//! `trackgate-delivery` and `docs/config-delivery.md`.

pub mod build;
pub mod catalog;
pub mod collect;
pub mod connections;
pub mod diff;
pub mod fetch;
pub mod inspect;
pub mod keygen;
pub mod serve;
pub mod server;

use std::path::Path;

use trackgate_delivery::{Keyring, SigningKey};

use crate::Failure;

/// Current Unix time in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// Reads a file, naming it in the error (exit 2).
pub fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|error| Failure::error(format!("cannot read {}: {error}", path.display())))
}

/// Reads a signing key file (64 hex digits, as `trackgate keygen` writes).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, Failure> {
    let text = String::from_utf8(read_file(path)?)
        .map_err(|_| Failure::error(format!("{}: signing key file is not text", path.display())))?;
    let bytes = trackgate_delivery::envelope::from_hex(&text)
        .filter(|bytes| bytes.len() == 32)
        .ok_or_else(|| Failure::error(format!("{}: a signing key file holds 64 hex digits", path.display())))?;
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&bytes);
    Ok(SigningKey::from_bytes(&seed))
}

/// Builds a keyring from public key files (64 hex digits each).
pub fn read_keyring(paths: &[std::path::PathBuf]) -> Result<Keyring, Failure> {
    let mut keyring = Keyring::new();
    for path in paths {
        let text = String::from_utf8(read_file(path)?)
            .map_err(|_| Failure::error(format!("{}: public key file is not text", path.display())))?;
        keyring.add_hex(&text).map_err(|error| Failure::error(format!("{}: {error}", path.display())))?;
    }
    Ok(keyring)
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` via the HTTP date code.
pub fn format_time(unix_seconds: u64) -> String {
    trackgate_delivery::fetcher::format_http_date(unix_seconds)
}
