//! Judging an envelope's signatures against a [`Keyring`]: which signatures count, and whether
//! the keyring's policy (legacy: any one trusted key; roles: a threshold of distinct keys per
//! required role) is met.
//!
//! Rules (normative in `docs/config-delivery.md`, "Signatures and thresholds"):
//! - a signature by a revoked key never counts and is not even checked;
//! - a signature by a key the keyring does not hold is ignored (a legacy device ignores the
//!   co-signer it does not know);
//! - a signature by a trusted key that does not verify refuses the envelope (`bad_signature`
//!   at its index): publishers never ship one, so it is corruption or forgery;
//! - a key counts once (a key appearing twice is refused earlier, when parsing) and for its
//!   one role.
//!
//! When the policy is not met, the error says why in the most telling way: a revoked key that
//! signed for the missing role, else an unknown key when no trusted key signed at all, else
//! the role and its count. Pure computation.

use crate::envelope::{KeyId, ParsedEnvelope, SignatureEntry};
use crate::keyring::Keyring;
use crate::verify::VerifyError;

/// Checks every signature of `envelope` against `keyring` and its policy. Returns the keys
/// whose signatures counted, in envelope order.
pub fn verify_signatures(envelope: &ParsedEnvelope<'_>, keyring: &Keyring) -> Result<Vec<KeyId>, VerifyError> {
    let mut counted = Vec::with_capacity(envelope.signatures.len());
    let mut revoked: Vec<(usize, &SignatureEntry)> = Vec::new();
    let mut unknown: Option<(usize, &SignatureEntry)> = None;
    // Built on first use: an envelope whose every signer is unknown or revoked costs no hash.
    let mut message: Option<Vec<u8>> = None;
    for (index, entry) in envelope.signatures.iter().enumerate() {
        if keyring.is_revoked(entry.key_id) {
            revoked.push((index, entry));
            continue;
        }
        let Some(key) = keyring.find(entry.key_id) else {
            unknown.get_or_insert((index, entry));
            continue;
        };
        let message = message.get_or_insert_with(|| envelope.signed_message());
        if !entry.matches(message, key) {
            return Err(VerifyError::BadSignature { key_id: entry.key_id, index, offset: entry.offset });
        }
        counted.push(entry.key_id);
    }
    let refuse = |role: Option<&str>, have: usize, need: usize| {
        // A revoked key that signed for this role (or whose role this build cannot know).
        let relevant = revoked.iter().find(|(_, entry)| match (role, keyring.find(entry.key_id)) {
            (None, _) | (_, None) => true,
            (Some(role), Some(_)) => keyring.role_of(entry.key_id) == Some(role),
        });
        if let Some((index, entry)) = relevant {
            return VerifyError::RevokedKey {
                key_id: entry.key_id,
                index: *index,
                offset: entry.offset,
                role: keyring.role_of(entry.key_id).map(str::to_owned),
            };
        }
        match unknown {
            Some((index, entry)) if counted.is_empty() => {
                VerifyError::UnknownKey { key_id: entry.key_id, index, offset: entry.offset }
            }
            _ => VerifyError::NotEnoughSignatures { role: role.map(str::to_owned), have, need },
        }
    };
    if keyring.is_legacy() {
        return if counted.is_empty() { Err(refuse(None, 0, 1)) } else { Ok(counted) };
    }
    for (role, need) in keyring.thresholds() {
        let have = counted.iter().filter(|id| keyring.role_of(**id) == Some(role)).count();
        let need = usize::try_from(need).unwrap_or(usize::MAX);
        if have < need {
            return Err(refuse(Some(role), have, need));
        }
    }
    Ok(counted)
}
