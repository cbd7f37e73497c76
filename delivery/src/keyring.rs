//! The [`Keyring`]: the public keys an app trusts, each with an optional role, the signature
//! policy (how many distinct keys of which roles must sign a plan) and the revoked keys.
//!
//! Two shapes, one type:
//! - **legacy** (no threshold set): any one valid signature by a trusted, unrevoked key is
//!   enough. Every keyring built before roles existed is of this shape and keeps working.
//! - **roles** (at least one threshold): for each required role R with threshold n, at least n
//!   distinct trusted, unrevoked keys of role R must have signed (TUF-style). Keys of roles no
//!   threshold names never count; every key must have a role ([`Keyring::check`]).
//!
//! A key has one role (adding the same key twice is refused), so one signature can never count
//! for two roles. Judging an envelope against the keyring is `crate::threshold`'s job; this
//! module only holds and checks the configuration. Pure data: no I/O.

use ed25519_dalek::VerifyingKey;

use crate::envelope::{from_hex, KeyId, KEY_ID_LENGTH};

/// Longest role name, in bytes.
pub const MAX_ROLE_BYTES: usize = 32;

/// Why a key, a role or a threshold was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not 32 bytes (64 hex digits).
    #[error("a public key is 32 bytes (64 hex digits), got {0} bytes")]
    WrongLength(usize),
    /// Not hexadecimal text.
    #[error("key text is not hexadecimal")]
    NotHex,
    /// Not a valid, non-weak Ed25519 point.
    #[error("not a valid Ed25519 public key")]
    InvalidPoint,
    /// Two trusted keys share an id (practically impossible unless the same key is added twice;
    /// a key has one role).
    #[error("key {0} is already in the keyring")]
    Duplicate(KeyId),
    /// A role name that is empty, too long, or not made of `a-z 0-9 _ - .`.
    #[error("role `{0}` is not a role name (1 to 32 of a-z, 0-9, `_`, `-`, `.`)")]
    BadRole(String),
    /// A threshold of zero (a role nobody needs to sign is not required at all).
    #[error("the threshold of role `{0}` is 0; a required role needs at least 1 signature")]
    ZeroThreshold(String),
    /// The same role given two thresholds.
    #[error("role `{0}` has two thresholds")]
    DuplicateThreshold(String),
    /// Fewer trusted, unrevoked keys of a role than its threshold: no plan could ever pass.
    #[error("role `{role}` needs {need} distinct key(s) but the keyring has {have} unrevoked key(s) of that role")]
    Unreachable {
        /// The role.
        role: String,
        /// Its threshold.
        need: u32,
        /// Unrevoked keys of the role.
        have: u32,
    },
    /// Under a role policy, a key without a role could never count.
    #[error("key {0} has no role, but the keyring requires roles; give it one")]
    NoRole(KeyId),
    /// A revoked entry that is neither a key id (16 hex digits) nor a public key (64).
    #[error("a revoked key is a key id (16 hex digits) or a public key (64 hex digits), got `{0}`")]
    BadKeyId(String),
}

/// One trusted key.
#[derive(Debug, Clone)]
struct Entry {
    id: KeyId,
    key: VerifyingKey,
    role: Option<Box<str>>,
}

/// The public keys an app trusts to sign its plans (several at once during a key rotation),
/// their roles, the per-role thresholds and the revoked key ids.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<Entry>,
    /// Required roles and their thresholds, sorted by role; empty means the legacy policy.
    thresholds: Vec<(Box<str>, u32)>,
    revoked: Vec<KeyId>,
}

/// Whether `role` is a role name: 1 to [`MAX_ROLE_BYTES`] of `a-z 0-9 _ - .`.
pub fn is_role_name(role: &str) -> bool {
    !role.is_empty()
        && role.len() <= MAX_ROLE_BYTES
        && role.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"_-.".contains(&byte))
}

fn checked_role(role: &str) -> Result<Box<str>, KeyError> {
    if is_role_name(role) {
        Ok(role.into())
    } else {
        Err(KeyError::BadRole(role.chars().take(MAX_ROLE_BYTES + 8).collect()))
    }
}

impl Keyring {
    /// An empty keyring (trusts nothing).
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Trusts a raw 32-byte public key without a role (legacy keyrings); returns its id.
    pub fn add(&mut self, public_key: &[u8]) -> Result<KeyId, KeyError> {
        self.insert(public_key, None)
    }

    /// Trusts a public key given as 64 hex digits (the `public.hex` file of `trackgate keygen`).
    pub fn add_hex(&mut self, text: &str) -> Result<KeyId, KeyError> {
        let bytes = from_hex(text).ok_or(KeyError::NotHex)?;
        self.add(&bytes)
    }

    /// Trusts a raw 32-byte public key in `role` (e.g. `business`, `technical`); returns its id.
    pub fn add_with_role(&mut self, public_key: &[u8], role: &str) -> Result<KeyId, KeyError> {
        let role = checked_role(role)?;
        self.insert(public_key, Some(role))
    }

    /// [`Keyring::add_with_role`] for a key given as 64 hex digits.
    pub fn add_hex_with_role(&mut self, text: &str, role: &str) -> Result<KeyId, KeyError> {
        let bytes = from_hex(text).ok_or(KeyError::NotHex)?;
        self.add_with_role(&bytes, role)
    }

    fn insert(&mut self, public_key: &[u8], role: Option<Box<str>>) -> Result<KeyId, KeyError> {
        let bytes: [u8; 32] = public_key.try_into().map_err(|_| KeyError::WrongLength(public_key.len()))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::InvalidPoint)?;
        if key.is_weak() {
            return Err(KeyError::InvalidPoint);
        }
        let id = KeyId::of(&bytes);
        if self.find(id).is_some() {
            return Err(KeyError::Duplicate(id));
        }
        self.keys.push(Entry { id, key, role });
        Ok(id)
    }

    /// Requires `count` distinct keys of `role` to sign every plan. The first call turns the
    /// legacy policy (any one key) into a role policy.
    pub fn require(&mut self, role: &str, count: u32) -> Result<(), KeyError> {
        let role = checked_role(role)?;
        if count == 0 {
            return Err(KeyError::ZeroThreshold(role.into()));
        }
        match self.thresholds.binary_search_by(|(known, _)| known.cmp(&role)) {
            Ok(_) => Err(KeyError::DuplicateThreshold(role.into())),
            Err(at) => {
                self.thresholds.insert(at, (role, count));
                Ok(())
            }
        }
    }

    /// Revokes a key: its signatures never count, whatever its role. The key need not be in
    /// the keyring (a revocation list may name keys this build never trusted).
    pub fn revoke(&mut self, id: KeyId) {
        if !self.revoked.contains(&id) {
            self.revoked.push(id);
        }
    }

    /// Revokes a key given as its id (16 hex digits, as `trackgate keygen` prints it) or as
    /// its public key (64 hex digits).
    pub fn revoke_hex(&mut self, text: &str) -> Result<KeyId, KeyError> {
        let bad = || KeyError::BadKeyId(text.trim().chars().take(80).collect());
        let bytes = from_hex(text).ok_or_else(bad)?;
        let id = match bytes.len() {
            KEY_ID_LENGTH => KeyId(bytes.try_into().map_err(|_| bad())?),
            32 => KeyId::of(&bytes.try_into().map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        self.revoke(id);
        Ok(id)
    }

    /// Checks that the policy can be met: under a role policy every key has a role and every
    /// required role has at least its threshold of unrevoked keys. The legacy policy only
    /// needs one unrevoked key, which [`Keyring::is_empty`] and this check both look at.
    pub fn check(&self) -> Result<(), KeyError> {
        if self.thresholds.is_empty() {
            return Ok(());
        }
        if let Some(entry) = self.keys.iter().find(|entry| entry.role.is_none()) {
            return Err(KeyError::NoRole(entry.id));
        }
        for (role, need) in &self.thresholds {
            let have = self
                .keys
                .iter()
                .filter(|entry| entry.role.as_deref() == Some(&**role) && !self.is_revoked(entry.id))
                .count();
            let have = u32::try_from(have).unwrap_or(u32::MAX);
            if have < *need {
                return Err(KeyError::Unreachable { role: role.to_string(), need: *need, have });
            }
        }
        Ok(())
    }

    /// The trusted key with this id (revoked or not: see [`Keyring::is_revoked`]).
    pub fn find(&self, id: KeyId) -> Option<&VerifyingKey> {
        self.entry(id).map(|entry| &entry.key)
    }

    /// The role of a trusted key, if it has one.
    pub fn role_of(&self, id: KeyId) -> Option<&str> {
        self.entry(id).and_then(|entry| entry.role.as_deref())
    }

    fn entry(&self, id: KeyId) -> Option<&Entry> {
        self.keys.iter().find(|entry| entry.id == id)
    }

    /// Whether this key id is revoked.
    pub fn is_revoked(&self, id: KeyId) -> bool {
        self.revoked.contains(&id)
    }

    /// The revoked key ids, in the order they were revoked.
    pub fn revoked(&self) -> &[KeyId] {
        &self.revoked
    }

    /// The required roles and their thresholds, sorted by role; empty under the legacy policy.
    pub fn thresholds(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        self.thresholds.iter().map(|(role, count)| (&**role, *count))
    }

    /// Whether any one trusted key suffices (no threshold set).
    pub fn is_legacy(&self) -> bool {
        self.thresholds.is_empty()
    }

    /// Ids of all trusted keys, in the order they were added.
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.iter().map(|entry| entry.id)
    }

    /// Whether no unrevoked key is trusted (no plan could ever verify).
    pub fn is_empty(&self) -> bool {
        self.keys.iter().all(|entry| self.is_revoked(entry.id))
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;

    fn public(seed: u8) -> [u8; 32] {
        SigningKey::from_bytes(&[seed; 32]).verifying_key().to_bytes()
    }

    #[test]
    fn keyring_refuses_duplicates_and_bad_lengths() {
        let mut keyring = Keyring::new();
        let id = keyring.add(&public(7)).expect("adds");
        assert_eq!(keyring.add(&public(7)), Err(KeyError::Duplicate(id)));
        assert_eq!(keyring.add_with_role(&public(7), "business"), Err(KeyError::Duplicate(id)));
        assert_eq!(keyring.add(&[1; 31]), Err(KeyError::WrongLength(31)));
        assert!(keyring.find(id).is_some());
        assert!(keyring.is_legacy());
    }

    #[test]
    fn roles_and_thresholds_are_checked() {
        let mut keyring = Keyring::new();
        assert_eq!(keyring.add_with_role(&public(1), "Business"), Err(KeyError::BadRole("Business".into())));
        assert_eq!(keyring.add_with_role(&public(1), ""), Err(KeyError::BadRole(String::new())));
        let business = keyring.add_with_role(&public(1), "business").expect("adds");
        keyring.add_with_role(&public(2), "technical").expect("adds");
        assert_eq!(keyring.require("business", 0), Err(KeyError::ZeroThreshold("business".into())));
        keyring.require("technical", 1).expect("requires");
        keyring.require("business", 1).expect("requires");
        assert_eq!(keyring.require("business", 2), Err(KeyError::DuplicateThreshold("business".into())));
        assert_eq!(keyring.thresholds().collect::<Vec<_>>(), [("business", 1), ("technical", 1)]);
        assert_eq!(keyring.check(), Ok(()));
        keyring.revoke(business);
        assert_eq!(keyring.check(), Err(KeyError::Unreachable { role: "business".into(), need: 1, have: 0 }));
        let mut unroled = Keyring::new();
        let id = unroled.add(&public(3)).expect("adds");
        unroled.add_with_role(&public(4), "technical").expect("adds");
        unroled.require("technical", 1).expect("requires");
        assert_eq!(unroled.check(), Err(KeyError::NoRole(id)));
    }

    #[test]
    fn revocations_take_ids_or_public_keys() {
        let mut keyring = Keyring::new();
        let id = keyring.add(&public(5)).expect("adds");
        assert!(!keyring.is_empty());
        assert_eq!(keyring.revoke_hex(&id.to_string()), Ok(id));
        assert_eq!(keyring.revoke_hex(&crate::envelope::to_hex(&public(5))), Ok(id));
        assert_eq!(keyring.revoked(), &[id]);
        assert!(keyring.is_empty(), "a keyring whose only key is revoked trusts nothing");
        assert!(matches!(keyring.revoke_hex("abcd"), Err(KeyError::BadKeyId(_))));
        assert!(matches!(keyring.revoke_hex("zz"), Err(KeyError::BadKeyId(_))));
    }
}
