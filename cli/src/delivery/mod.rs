//! Signed plan delivery commands: the publisher's side (`keygen`, `build`, `sign`, `inspect`,
//! `diff`, `serve`) and the device's side as a command (`fetch`); trusted keys come from key
//! files (`--pubkey`, any one key suffices) or a keyring file with roles and thresholds
//! (`--keyring`, [`keyring_file`]). The format and rules are those of
//! `trackgate-delivery` and `docs/config-delivery.md`.

pub mod build;
pub mod catalog;
pub mod collect;
pub mod connections;
pub mod diff;
pub mod fetch;
pub mod inspect;
pub mod keygen;
pub mod keyring_file;
pub mod serve;
pub mod server;
pub mod sign;

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

/// What follows a key file header when `trackgate keygen --role ROLE` made it: ` role=ROLE`.
pub const ROLE_MARK: &str = " role=";

/// A key file's header line: its kind and the role it records, if any (`trackgate public key
/// v1 role=business`). `None` if the line is not a header of that kind.
fn header_role<'line>(line: &'line str, header: &str) -> Option<Option<&'line str>> {
    let rest = line.strip_prefix(header)?;
    if rest.is_empty() {
        return Some(None);
    }
    rest.strip_prefix(ROLE_MARK).map(Some)
}

/// A key file: its kind, its 32 bytes, and the role its header records.
struct KeyFile {
    kind: KeyKind,
    key: [u8; 32],
    role: Option<String>,
}

/// Reads a key file (capped at [`files::KEY_CAP`]).
fn read_key_file(path: &Path) -> Result<KeyFile, Failure> {
    let problem = |message: String| Failure::error(format!("{}: {message}", path.display()));
    let bytes = files::read_capped(path, files::KEY_CAP, "key file")?;
    let text = String::from_utf8(bytes).map_err(|_| problem("a key file is text; this one is not UTF-8".into()))?;
    let text = text.trim();
    let first_line = text.lines().next().unwrap_or("").trim();
    let after_header = || &text[text.lines().next().unwrap_or("").len()..];
    let (kind, role, digits) = if let Some(role) = header_role(first_line, SIGNING_KEY_HEADER) {
        (KeyKind::Signing, role, after_header())
    } else if let Some(role) = header_role(first_line, PUBLIC_KEY_HEADER) {
        (KeyKind::Public, role, after_header())
    } else if first_line.starts_with("trackgate ") {
        return Err(problem(format!(
            "unknown key file header `{first_line}`; expected `{SIGNING_KEY_HEADER}` or `{PUBLIC_KEY_HEADER}`, \
             optionally followed by `{ROLE_MARK}ROLE`"
        )));
    } else {
        (KeyKind::Bare, None, text)
    };
    if let Some(role) = role.filter(|role| !trackgate_delivery::keyring::is_role_name(role)) {
        return Err(problem(format!(
            "role `{role}` in the header is not a role name (1 to 32 of a-z, 0-9, `_`, `-`, `.`)"
        )));
    }
    let bytes = trackgate_delivery::envelope::from_hex(digits)
        .filter(|bytes| bytes.len() == 32)
        .ok_or_else(|| problem("a key file holds 64 hex digits (after its header line)".into()))?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok(KeyFile { kind, key, role: role.map(str::to_owned) })
}

/// Reads a signing key file (`trackgate signing key v1` and 64 hex digits, as `trackgate
/// keygen` writes). Refuses a public key file, and a file of bare hex digits, which could be a
/// public key (see `docs/config-delivery.md`, key files). Returns the key and the role its
/// header records (`trackgate keygen --role`), which is the publisher's label only: devices
/// judge roles by their own keyring.
pub fn read_signing_key(path: &Path) -> Result<(SigningKey, Option<String>), Failure> {
    let file = read_key_file(path)?;
    match file.kind {
        KeyKind::Signing => Ok((SigningKey::from_bytes(&file.key), file.role)),
        KeyKind::Public => Err(Failure::error(format!(
            "{}: this is a public key (`{PUBLIC_KEY_HEADER}`), not a signing key; pass the signing.key \
             that `trackgate keygen` wrote beside it",
            path.display()
        ))),
        KeyKind::Bare => Err(Failure::error(format!(
            "{}: bare hex digits could be a public key, so they are not used to sign; if this file \
             is a signing key, make `{SIGNING_KEY_HEADER}` its first line (docs/config-delivery.md, key files)",
            path.display()
        ))),
    }
}

/// Builds a legacy keyring (any one key suffices) from public key files: `trackgate public key
/// v1` and 64 hex digits, or the 64 hex digits alone (`public.hex`, what apps embed). Refuses a
/// signing key file. A role in a header is not used: roles and thresholds come from a keyring
/// file ([`read_trust`]).
pub fn read_keyring(paths: &[std::path::PathBuf]) -> Result<Keyring, Failure> {
    let mut keyring = Keyring::new();
    for path in paths {
        let file = read_key_file(path)?;
        let key = match file.kind {
            KeyKind::Public | KeyKind::Bare => file.key,
            KeyKind::Signing => {
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

/// The trusted keys of `inspect`, `serve` and `fetch`: public key files (`--pubkey`, legacy
/// policy) or one keyring file (`--keyring`, roles, thresholds, revocations); not both.
/// `None` when neither is given.
pub fn read_trust(public_keys: &[std::path::PathBuf], keyring: Option<&Path>) -> Result<Option<Keyring>, Failure> {
    match (public_keys.is_empty(), keyring) {
        (true, None) => Ok(None),
        (false, None) => read_keyring(public_keys).map(Some),
        (true, Some(path)) => keyring_file::read(path).map(Some),
        (false, Some(_)) => Err(Failure::error(
            "give trusted keys either as --pubkey files (any one key suffices) or as one --keyring file \
             (roles and thresholds), not both"
                .to_owned(),
        )),
    }
}
