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

use crate::{files, Failure};

/// Current Unix time in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// First line of a signing key file (`signing.key`), before its 64 hex digits.
pub const SIGNING_KEY_HEADER: &str = "trackgate signing key v1";

/// First line of a public key file (`public.key`), before its 64 hex digits.
pub const PUBLIC_KEY_HEADER: &str = "trackgate public key v1";

/// What a key file says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    /// `trackgate signing key v1`, then the secret seed.
    Signing,
    /// `trackgate public key v1`, then the public key.
    Public,
    /// Only 64 hex digits: `public.hex`, an app's embedded value, or a key file from before
    /// the headers. Accepted as a public key; refused as a signing key (it may be a public one).
    Bare,
}

/// Reads a key file (capped at [`files::KEY_CAP`]): its kind and its 32 bytes.
fn read_key_file(path: &Path) -> Result<(KeyKind, [u8; 32]), Failure> {
    let problem = |message: String| Failure::error(format!("{}: {message}", path.display()));
    let bytes = files::read_capped(path, files::KEY_CAP, "key file")?;
    let text = String::from_utf8(bytes).map_err(|_| problem("a key file is text; this one is not UTF-8".into()))?;
    let text = text.trim();
    let first_line = text.lines().next().unwrap_or("").trim();
    let (kind, digits) = if first_line == SIGNING_KEY_HEADER {
        (KeyKind::Signing, &text[first_line.len()..])
    } else if first_line == PUBLIC_KEY_HEADER {
        (KeyKind::Public, &text[first_line.len()..])
    } else if first_line.starts_with("trackgate ") {
        return Err(problem(format!(
            "unknown key file header `{first_line}`; expected `{SIGNING_KEY_HEADER}` or `{PUBLIC_KEY_HEADER}`"
        )));
    } else {
        (KeyKind::Bare, text)
    };
    let bytes = trackgate_delivery::envelope::from_hex(digits)
        .filter(|bytes| bytes.len() == 32)
        .ok_or_else(|| problem("a key file holds 64 hex digits (after its header line)".into()))?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok((kind, key))
}

/// Reads a signing key file (`trackgate signing key v1` and 64 hex digits, as `trackgate
/// keygen` writes). Refuses a public key file, and a file of bare hex digits, which could be a
/// public key (see `docs/config-delivery.md`, key files).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, Failure> {
    match read_key_file(path)? {
        (KeyKind::Signing, seed) => Ok(SigningKey::from_bytes(&seed)),
        (KeyKind::Public, _) => Err(Failure::error(format!(
            "{}: this is a public key (`{PUBLIC_KEY_HEADER}`), not a signing key; pass the signing.key \
             that `trackgate keygen` wrote beside it",
            path.display()
        ))),
        (KeyKind::Bare, _) => Err(Failure::error(format!(
            "{}: bare hex digits could be a public key, so they are not used to sign; if this file \
             is a signing key, make `{SIGNING_KEY_HEADER}` its first line (docs/config-delivery.md, key files)",
            path.display()
        ))),
    }
}

/// Builds a keyring from public key files: `trackgate public key v1` and 64 hex digits, or the
/// 64 hex digits alone (`public.hex`, what apps embed). Refuses a signing key file.
pub fn read_keyring(paths: &[std::path::PathBuf]) -> Result<Keyring, Failure> {
    let mut keyring = Keyring::new();
    for path in paths {
        let key = match read_key_file(path)? {
            (KeyKind::Public | KeyKind::Bare, key) => key,
            (KeyKind::Signing, _) => {
                return Err(Failure::error(format!(
                    "{}: this is a signing key (`{SIGNING_KEY_HEADER}`), which must stay secret, not a \
                     public key; pass public.key (or public.hex) from `trackgate keygen`",
                    path.display()
                )))
            }
        };
        keyring.add(&key).map_err(|error| Failure::error(format!("{}: {error}", path.display())))?;
    }
    Ok(keyring)
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` via the HTTP date code.
pub fn format_time(unix_seconds: u64) -> String {
    trackgate_delivery::fetcher::format_http_date(unix_seconds)
}
