//! The signed plan envelope: its byte layout, parsing, signing, key ids and the [`Keyring`].
//!
//! The layout is normative in `docs/config-delivery.md`; the constants here are its single
//! source. Parsing borrows the input and allocates only the two scope strings (at most 64
//! bytes each); it never panics and names the byte offset and field of every problem. Signing
//! is for publishers (the CLI and tests); apps only parse and verify.
//!
//! Everything here is pure computation: no I/O, no threads, no global state.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The first eight bytes of every envelope.
pub const MAGIC: [u8; 8] = *b"TGPLAN\0\0";
/// The envelope format this build reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Algorithm id of Ed25519 (RFC 8032, verified strictly).
pub const ALGORITHM_ED25519: u8 = 1;
/// Payload schema: a `trackgate_core::Plan` (schema 1) encoded with postcard.
pub const PAYLOAD_SCHEMA_POSTCARD_PLAN_V1: u16 = 1;
/// Prefix of the signed message, so an envelope signature can never be mistaken for (or
/// replayed as) a signature over anything else made with the same key.
pub const SIGNATURE_DOMAIN: &[u8] = b"trackgate-plan-envelope-v1\0";
/// Length of an Ed25519 signature.
pub const SIGNATURE_LENGTH: usize = 64;
/// Bytes before the variable-length scope: magic up to and including the payload length.
pub const FIXED_HEADER_LENGTH: usize = 50;
/// Longest `app` or `env` in the scope, in bytes (the plan format allows 64).
pub const MAX_SCOPE_BYTES: usize = 64;
/// Largest envelope accepted unless the host chooses otherwise (8 MiB).
pub const DEFAULT_MAX_ENVELOPE_BYTES: usize = 8 << 20;
/// Length of a [`KeyId`].
pub const KEY_ID_LENGTH: usize = 8;

// Offsets of the fixed header fields (see the layout table in docs/config-delivery.md).
const OFFSET_FORMAT: usize = 8;
const OFFSET_ALGORITHM: usize = 10;
const OFFSET_FLAGS: usize = 11;
const OFFSET_KEY_ID: usize = 12;
const OFFSET_CONFIG_VERSION: usize = 20;
const OFFSET_ISSUED_AT: usize = 28;
const OFFSET_EXPIRES_AT: usize = 36;
const OFFSET_PAYLOAD_SCHEMA: usize = 44;
const OFFSET_PAYLOAD_LENGTH: usize = 46;

/// Names a public key: the first 8 bytes of SHA-256 over its 32 raw bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; KEY_ID_LENGTH]);

impl KeyId {
    /// The id of a raw Ed25519 public key.
    pub fn of(public_key: &[u8; 32]) -> KeyId {
        let digest = Sha256::digest(public_key);
        let mut id = [0u8; KEY_ID_LENGTH];
        id.copy_from_slice(&digest[..KEY_ID_LENGTH]);
        KeyId(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyId({self})")
    }
}

/// Lower-case hexadecimal text of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// Bytes from hexadecimal text (surrounding whitespace ignored), or `None` if it is not hex.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.len() % 2 != 0 {
        return None;
    }
    let digit = |byte: u8| char::from(byte).to_digit(16).map(|value| value as u8);
    text.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

/// Why a public key was refused.
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
    /// Two trusted keys share an id (practically impossible unless the same key is added twice).
    #[error("key {0} is already in the keyring")]
    Duplicate(KeyId),
}

/// The public keys an app trusts to sign its plans. Several at once during a key rotation.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<(KeyId, VerifyingKey)>,
}

impl Keyring {
    /// An empty keyring (trusts nothing).
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Trusts a raw 32-byte public key; returns its id.
    pub fn add(&mut self, public_key: &[u8]) -> Result<KeyId, KeyError> {
        let bytes: [u8; 32] = public_key.try_into().map_err(|_| KeyError::WrongLength(public_key.len()))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::InvalidPoint)?;
        if key.is_weak() {
            return Err(KeyError::InvalidPoint);
        }
        let id = KeyId::of(&bytes);
        if self.find(id).is_some() {
            return Err(KeyError::Duplicate(id));
        }
        self.keys.push((id, key));
        Ok(id)
    }

    /// Trusts a public key given as 64 hex digits (the `public.hex` file of `trackgate keygen`).
    pub fn add_hex(&mut self, text: &str) -> Result<KeyId, KeyError> {
        let bytes = from_hex(text).ok_or(KeyError::NotHex)?;
        self.add(&bytes)
    }

    /// The trusted key with this id.
    pub fn find(&self, id: KeyId) -> Option<&VerifyingKey> {
        self.keys.iter().find(|(known, _)| *known == id).map(|(_, key)| key)
    }

    /// Ids of all trusted keys, in the order they were added.
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.iter().map(|(id, _)| *id)
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The signed header fields of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// Envelope format version ([`FORMAT_VERSION`]).
    pub format_version: u16,
    /// Signature algorithm ([`ALGORITHM_ED25519`]).
    pub algorithm: u8,
    /// Which trusted key signed it.
    pub key_id: KeyId,
    /// The plan's version; strictly increasing per scope.
    pub config_version: u64,
    /// When it was signed, Unix seconds.
    pub issued_at: u64,
    /// When it stops being acceptable (after a grace period), Unix seconds.
    pub expires_at: u64,
    /// How the payload is encoded ([`PAYLOAD_SCHEMA_POSTCARD_PLAN_V1`]).
    pub payload_schema: u16,
    /// The application the plan is for.
    pub app: String,
    /// The environment the plan is for.
    pub env: String,
}

/// An envelope split into its parts; the payload is neither verified nor decoded yet.
#[derive(Debug, Clone)]
pub struct ParsedEnvelope<'bytes> {
    /// The header fields.
    pub header: EnvelopeHeader,
    /// Length of the header (fixed part and scope): the payload's offset.
    pub header_length: usize,
    /// The payload bytes.
    pub payload: &'bytes [u8],
    /// Header and payload: the bytes the signature covers (after [`SIGNATURE_DOMAIN`]).
    pub signed_bytes: &'bytes [u8],
    /// The signature.
    pub signature: [u8; SIGNATURE_LENGTH],
}

/// Why bytes are not a well-formed envelope. Offsets count from the envelope's first byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Larger than the host's cap; refused before reading anything.
    #[error("envelope is {length} bytes; at most {limit} are accepted")]
    TooLarge {
        /// Bytes offered.
        length: usize,
        /// The cap.
        limit: usize,
    },
    /// The input ends inside a field.
    #[error("envelope truncated at byte {length}: field `{field}` needs bytes {offset}..{end}")]
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// Where it would end.
        end: usize,
        /// Bytes present.
        length: usize,
    },
    /// Not an envelope at all.
    #[error("byte 0: not a trackgate plan envelope (bad magic)")]
    BadMagic,
    /// A format this build does not read.
    #[error("byte {OFFSET_FORMAT}: envelope format version {0} is not supported (this build reads {FORMAT_VERSION})")]
    UnsupportedFormat(u16),
    /// A signature algorithm this build does not know.
    #[error("byte {OFFSET_ALGORITHM}: signature algorithm {0} is not supported (1 = Ed25519)")]
    UnsupportedAlgorithm(u8),
    /// Reserved flag bits are set.
    #[error("byte {OFFSET_FLAGS}: reserved flags must be 0, got {0:#04x}")]
    ReservedFlags(u8),
    /// `expires_at` is not after `issued_at`.
    #[error("byte {OFFSET_EXPIRES_AT}: expires_at {expires_at} is not after issued_at {issued_at}")]
    ExpiresBeforeIssued {
        /// Signing time.
        issued_at: u64,
        /// Expiry time.
        expires_at: u64,
    },
    /// An `app` or `env` field is empty, too long or not UTF-8.
    #[error("byte {offset}: scope field `{field}` {problem}")]
    BadScope {
        /// `app` or `env`.
        field: &'static str,
        /// Where its length byte is.
        offset: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// The declared payload length does not match the bytes that follow the header.
    #[error(
        "byte {OFFSET_PAYLOAD_LENGTH}: payload length says {declared} bytes but {actual} bytes \
         lie between the header and the signature"
    )]
    PayloadLengthMismatch {
        /// Length in the header.
        declared: u64,
        /// Bytes actually there.
        actual: usize,
    },
}

/// Reads little-endian integers at known offsets, naming the field when the input is short.
struct Reader<'bytes> {
    bytes: &'bytes [u8],
}

impl<'bytes> Reader<'bytes> {
    fn take(&self, offset: usize, length: usize, field: &'static str) -> Result<&'bytes [u8], EnvelopeError> {
        let end = offset.saturating_add(length);
        self.bytes.get(offset..end).ok_or(EnvelopeError::Truncated { field, offset, end, length: self.bytes.len() })
    }

    fn array<const N: usize>(&self, offset: usize, field: &'static str) -> Result<[u8; N], EnvelopeError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(offset, N, field)?);
        Ok(array)
    }

    fn u16(&self, offset: usize, field: &'static str) -> Result<u16, EnvelopeError> {
        self.array(offset, field).map(u16::from_le_bytes)
    }

    fn u32(&self, offset: usize, field: &'static str) -> Result<u32, EnvelopeError> {
        self.array(offset, field).map(u32::from_le_bytes)
    }

    fn u64(&self, offset: usize, field: &'static str) -> Result<u64, EnvelopeError> {
        self.array(offset, field).map(u64::from_le_bytes)
    }

    /// A length-prefixed scope string; returns it and the offset after it.
    fn scope(&self, offset: usize, field: &'static str) -> Result<(String, usize), EnvelopeError> {
        let length = usize::from(self.take(offset, 1, field)?[0]);
        let bad = |problem| EnvelopeError::BadScope { field, offset, problem };
        if length == 0 {
            return Err(bad("is empty"));
        }
        if length > MAX_SCOPE_BYTES {
            return Err(bad("is longer than 64 bytes"));
        }
        let text = std::str::from_utf8(self.take(offset + 1, length, field)?).map_err(|_| bad("is not UTF-8"))?;
        Ok((text.to_owned(), offset + 1 + length))
    }
}

/// Splits an envelope into header, payload and signature, checking every length.
///
/// Refuses input over `max_bytes` before looking at it. Does not verify the signature.
pub fn parse_envelope(bytes: &[u8], max_bytes: usize) -> Result<ParsedEnvelope<'_>, EnvelopeError> {
    if bytes.len() > max_bytes {
        return Err(EnvelopeError::TooLarge { length: bytes.len(), limit: max_bytes });
    }
    let reader = Reader { bytes };
    if reader.array::<8>(0, "magic")? != MAGIC {
        return Err(EnvelopeError::BadMagic);
    }
    let format_version = reader.u16(OFFSET_FORMAT, "format_version")?;
    if format_version != FORMAT_VERSION {
        return Err(EnvelopeError::UnsupportedFormat(format_version));
    }
    let algorithm = reader.array::<1>(OFFSET_ALGORITHM, "algorithm")?[0];
    if algorithm != ALGORITHM_ED25519 {
        return Err(EnvelopeError::UnsupportedAlgorithm(algorithm));
    }
    let flags = reader.array::<1>(OFFSET_FLAGS, "flags")?[0];
    if flags != 0 {
        return Err(EnvelopeError::ReservedFlags(flags));
    }
    let key_id = KeyId(reader.array(OFFSET_KEY_ID, "key_id")?);
    let config_version = reader.u64(OFFSET_CONFIG_VERSION, "config_version")?;
    let issued_at = reader.u64(OFFSET_ISSUED_AT, "issued_at")?;
    let expires_at = reader.u64(OFFSET_EXPIRES_AT, "expires_at")?;
    if expires_at <= issued_at {
        return Err(EnvelopeError::ExpiresBeforeIssued { issued_at, expires_at });
    }
    let payload_schema = reader.u16(OFFSET_PAYLOAD_SCHEMA, "payload_schema")?;
    let declared = reader.u32(OFFSET_PAYLOAD_LENGTH, "payload_length")?;
    let (app, env_offset) = reader.scope(FIXED_HEADER_LENGTH, "app")?;
    let (env, header_length) = reader.scope(env_offset, "env")?;
    let actual = bytes.len().saturating_sub(header_length).saturating_sub(SIGNATURE_LENGTH);
    if bytes.len() < header_length + SIGNATURE_LENGTH {
        let end = header_length + SIGNATURE_LENGTH;
        return Err(EnvelopeError::Truncated { field: "signature", offset: header_length, end, length: bytes.len() });
    }
    if u64::from(declared) != actual as u64 {
        return Err(EnvelopeError::PayloadLengthMismatch { declared: u64::from(declared), actual });
    }
    let signed_length = header_length + actual;
    let signature = reader.array(signed_length, "signature")?;
    Ok(ParsedEnvelope {
        header: EnvelopeHeader {
            format_version,
            algorithm,
            key_id,
            config_version,
            issued_at,
            expires_at,
            payload_schema,
            app,
            env,
        },
        header_length,
        payload: &bytes[header_length..signed_length],
        signed_bytes: &bytes[..signed_length],
        signature,
    })
}

impl ParsedEnvelope<'_> {
    /// Whether `key` made the signature (strict RFC 8032 verification: no malleable
    /// signatures, no weak keys).
    pub fn signature_is_valid(&self, key: &VerifyingKey) -> bool {
        let signature = Signature::from_bytes(&self.signature);
        let mut message = Vec::with_capacity(SIGNATURE_DOMAIN.len() + self.signed_bytes.len());
        message.extend_from_slice(SIGNATURE_DOMAIN);
        message.extend_from_slice(self.signed_bytes);
        key.verify_strict(&message, &signature).is_ok()
    }
}

/// What a publisher puts in an envelope header (the key id comes from the signing key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeFields {
    /// The plan version.
    pub config_version: u64,
    /// Signing time, Unix seconds.
    pub issued_at: u64,
    /// Expiry, Unix seconds; must be after `issued_at`.
    pub expires_at: u64,
    /// Payload encoding ([`PAYLOAD_SCHEMA_POSTCARD_PLAN_V1`]).
    pub payload_schema: u16,
    /// Application.
    pub app: String,
    /// Environment.
    pub env: String,
}

/// Why an envelope could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// `app` or `env` is empty or longer than 64 bytes.
    #[error("scope field `{0}` must be 1 to 64 bytes")]
    BadScope(&'static str),
    /// The payload does not fit the 32-bit length field.
    #[error("payload of {0} bytes is larger than 4 GiB")]
    PayloadTooLarge(usize),
    /// `expires_at` is not after `issued_at`.
    #[error("expires_at must be after issued_at")]
    ExpiresBeforeIssued,
}

/// Builds and signs an envelope around `payload`. Does not look inside the payload: use
/// [`crate::seal_plan`] for plans; this form exists for tools and for tests that need
/// deliberately bad payloads under a good signature.
pub fn seal_payload(fields: &EnvelopeFields, payload: &[u8], key: &SigningKey) -> Result<Vec<u8>, SealError> {
    for (name, value) in [("app", &fields.app), ("env", &fields.env)] {
        if value.is_empty() || value.len() > MAX_SCOPE_BYTES {
            return Err(SealError::BadScope(name));
        }
    }
    if fields.expires_at <= fields.issued_at {
        return Err(SealError::ExpiresBeforeIssued);
    }
    let payload_length = u32::try_from(payload.len()).map_err(|_| SealError::PayloadTooLarge(payload.len()))?;
    let key_id = KeyId::of(key.verifying_key().as_bytes());
    let mut bytes = Vec::with_capacity(
        FIXED_HEADER_LENGTH + 2 + fields.app.len() + fields.env.len() + payload.len() + SIGNATURE_LENGTH,
    );
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.push(ALGORITHM_ED25519);
    bytes.push(0);
    bytes.extend_from_slice(&key_id.0);
    bytes.extend_from_slice(&fields.config_version.to_le_bytes());
    bytes.extend_from_slice(&fields.issued_at.to_le_bytes());
    bytes.extend_from_slice(&fields.expires_at.to_le_bytes());
    bytes.extend_from_slice(&fields.payload_schema.to_le_bytes());
    bytes.extend_from_slice(&payload_length.to_le_bytes());
    for value in [&fields.app, &fields.env] {
        bytes.push(value.len() as u8);
        bytes.extend_from_slice(value.as_bytes());
    }
    bytes.extend_from_slice(payload);
    let mut message = Vec::with_capacity(SIGNATURE_DOMAIN.len() + bytes.len());
    message.extend_from_slice(SIGNATURE_DOMAIN);
    message.extend_from_slice(&bytes);
    bytes.extend_from_slice(&key.sign(&message).to_bytes());
    Ok(bytes)
}

/// SHA-256 of an envelope's bytes: how the store and the anti-rollback floor name a plan.
pub fn envelope_digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> EnvelopeFields {
        EnvelopeFields {
            config_version: 7,
            issued_at: 1_000,
            expires_at: 2_000,
            payload_schema: PAYLOAD_SCHEMA_POSTCARD_PLAN_V1,
            app: "shop".into(),
            env: "prod".into(),
        }
    }

    #[test]
    fn sealed_envelopes_parse_back_and_verify() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let bytes = seal_payload(&fields(), b"payload", &key).expect("seals");
        let parsed = parse_envelope(&bytes, DEFAULT_MAX_ENVELOPE_BYTES).expect("parses");
        assert_eq!(parsed.header.config_version, 7);
        assert_eq!(parsed.header.app, "shop");
        assert_eq!(parsed.header.key_id, KeyId::of(key.verifying_key().as_bytes()));
        assert_eq!(parsed.payload, b"payload");
        assert_eq!(parsed.header_length, FIXED_HEADER_LENGTH + 2 + 8);
        assert!(parsed.signature_is_valid(&key.verifying_key()));
        assert!(!parsed.signature_is_valid(&SigningKey::from_bytes(&[8; 32]).verifying_key()));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(from_hex(&to_hex(&[0, 1, 0xab, 0xff])), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }

    #[test]
    fn keyring_refuses_duplicates_and_bad_lengths() {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let mut keyring = Keyring::new();
        let id = keyring.add(key.as_bytes()).expect("adds");
        assert_eq!(keyring.add(key.as_bytes()), Err(KeyError::Duplicate(id)));
        assert_eq!(keyring.add(&[1; 31]), Err(KeyError::WrongLength(31)));
        assert!(keyring.find(id).is_some());
    }
}
