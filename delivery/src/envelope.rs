//! The signed plan envelope: its byte layout (formats 1 and 2), parsing, the signed message,
//! key ids, and sealing in format 1.
//!
//! Format 1 carries one signature over the header and payload; format 2 carries up to
//! [`MAX_SIGNATURES`] signatures, each over the same *signed digest* (SHA-256 of header and
//! payload), so signers sign independently and adding a signature never changes what was
//! signed (`crate::cosign`). The layout is normative in `docs/config-delivery.md`; the
//! constants here are its single source. Parsing borrows the input and allocates only the two
//! scope strings (at most 64 bytes each) and the list of signature entries (at most 16); it
//! never panics and names the byte offset and field of every problem. Signing is for
//! publishers (the CLI and tests); apps only parse and verify.
//!
//! Everything here is pure computation: no I/O, no threads, no global state.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};

pub use crate::seal::{seal_payload, EnvelopeFields, SealError};
use sha2::{Digest, Sha256};

/// The first eight bytes of every envelope.
pub const MAGIC: [u8; 8] = *b"TGPLAN\0\0";
/// Envelope format 1: one signature, its key id in the header.
pub const FORMAT_VERSION_1: u16 = 1;
/// Envelope format 2: a block of up to [`MAX_SIGNATURES`] signatures after the payload.
pub const FORMAT_VERSION_2: u16 = 2;
/// Most signatures a format-2 envelope may carry.
pub const MAX_SIGNATURES: usize = 16;
/// One format-2 signature entry: key id, then signature.
pub const SIGNATURE_ENTRY_LENGTH: usize = KEY_ID_LENGTH + SIGNATURE_LENGTH;
/// Algorithm id of Ed25519 (RFC 8032, verified strictly).
pub const ALGORITHM_ED25519: u8 = 1;
/// Payload schema: a `trackgate_core::Plan` (schema 1) encoded with postcard.
pub const PAYLOAD_SCHEMA_POSTCARD_PLAN_V1: u16 = 1;
/// Prefix of the signed message of format 1, so an envelope signature can never be mistaken
/// for (or replayed as) a signature over anything else made with the same key.
pub const SIGNATURE_DOMAIN: &[u8] = b"trackgate-plan-envelope-v1\0";
/// Prefix of the signed message of format 2 (followed by the 32-byte signed digest); distinct
/// from format 1's, so a signature made for one format is never valid in the other.
pub const SIGNATURE_DOMAIN_V2: &[u8] = b"trackgate-plan-envelope-v2\0";
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

/// The signed header fields of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// Envelope format version ([`FORMAT_VERSION_1`] or [`FORMAT_VERSION_2`]).
    pub format_version: u16,
    /// Signature algorithm ([`ALGORITHM_ED25519`]).
    pub algorithm: u8,
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

/// One signature of an envelope, not yet verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureEntry {
    /// The key that claims to have signed.
    pub key_id: KeyId,
    /// The Ed25519 signature.
    pub signature: [u8; SIGNATURE_LENGTH],
    /// Where the entry starts (format 2: its key id; format 1: the signature, the key id being
    /// at byte 12).
    pub offset: usize,
}

impl SignatureEntry {
    /// Whether `key` made this signature over `message` ([`ParsedEnvelope::signed_message`];
    /// strict RFC 8032 verification: no malleable signatures, no weak keys).
    pub fn matches(&self, message: &[u8], key: &VerifyingKey) -> bool {
        key.verify_strict(message, &Signature::from_bytes(&self.signature)).is_ok()
    }
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
    /// Header and payload: the bytes the signatures cover (format 1: after
    /// [`SIGNATURE_DOMAIN`]; format 2: through their SHA-256, the signed digest).
    pub signed_bytes: &'bytes [u8],
    /// The signatures, in envelope order; no key id appears twice. Format 1 has exactly one;
    /// format 2 has 0 to [`MAX_SIGNATURES`] (0 only while co-signing: verification refuses it).
    pub signatures: Vec<SignatureEntry>,
    /// The whole envelope.
    pub envelope: &'bytes [u8],
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
    #[error("byte {OFFSET_FORMAT}: envelope format version {0} is not supported (this build reads 1 and 2)")]
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
    /// Format 2: bytes 12..20 (format 1's key id) are not zero; format 2 names its signers
    /// in the signature block, so the signed header cannot depend on who signs.
    #[error("byte {OFFSET_KEY_ID}: format 2 keeps bytes 12..20 zero (key ids are in the signature block)")]
    KeyIdFieldNotZero,
    /// Format 2: more signatures than [`MAX_SIGNATURES`].
    #[error("byte {offset}: {count} signatures; at most {MAX_SIGNATURES} are accepted")]
    TooManySignatures {
        /// The count byte.
        count: usize,
        /// Where the count byte is.
        offset: usize,
    },
    /// Format 2: the envelope ends inside a signature entry.
    #[error("envelope truncated at byte {length}: signature {index} needs bytes {offset}..{end}")]
    SignatureTruncated {
        /// Which entry (from 0).
        index: usize,
        /// Where it starts.
        offset: usize,
        /// Where it would end.
        end: usize,
        /// Bytes present.
        length: usize,
    },
    /// Format 2: the same key signs twice (one key counts once, so a second entry can only be
    /// an attempt to count it twice).
    #[error("byte {offset}: signature {index} is by key {key_id}, which already signed as signature {first}")]
    DuplicateSignature {
        /// The key.
        key_id: KeyId,
        /// The repeated entry.
        index: usize,
        /// Its first entry.
        first: usize,
        /// Where the repeated entry starts.
        offset: usize,
    },
    /// Format 2: bytes after the last signature entry.
    #[error("byte {offset}: {count} byte(s) after the last signature")]
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many.
        count: usize,
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
    if format_version != FORMAT_VERSION_1 && format_version != FORMAT_VERSION_2 {
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
    if format_version == FORMAT_VERSION_2 && key_id.0 != [0; KEY_ID_LENGTH] {
        return Err(EnvelopeError::KeyIdFieldNotZero);
    }
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
    let (signed_length, signatures) = if format_version == FORMAT_VERSION_1 {
        signature_v1(&reader, header_length, declared, key_id)?
    } else {
        signature_block(&reader, header_length, declared)?
    };
    Ok(ParsedEnvelope {
        header: EnvelopeHeader {
            format_version,
            algorithm,
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
        signatures,
        envelope: bytes,
    })
}

/// Format 1: the payload runs to 64 bytes before the end; then the one signature. Returns the
/// end of the signed bytes and the signature.
fn signature_v1(
    reader: &Reader<'_>,
    header_length: usize,
    declared: u32,
    key_id: KeyId,
) -> Result<(usize, Vec<SignatureEntry>), EnvelopeError> {
    let length = reader.bytes.len();
    let actual = length.saturating_sub(header_length).saturating_sub(SIGNATURE_LENGTH);
    if length < header_length + SIGNATURE_LENGTH {
        let end = header_length + SIGNATURE_LENGTH;
        return Err(EnvelopeError::Truncated { field: "signature", offset: header_length, end, length });
    }
    if u64::from(declared) != actual as u64 {
        return Err(EnvelopeError::PayloadLengthMismatch { declared: u64::from(declared), actual });
    }
    let signed_length = header_length + actual;
    let signature = reader.array(signed_length, "signature")?;
    Ok((signed_length, vec![SignatureEntry { key_id, signature, offset: signed_length }]))
}

/// Format 2: the payload has its declared length; then a count byte and that many entries of
/// key id and signature, ending the envelope. Returns the end of the signed bytes and the
/// entries.
fn signature_block(
    reader: &Reader<'_>,
    header_length: usize,
    declared: u32,
) -> Result<(usize, Vec<SignatureEntry>), EnvelopeError> {
    let length = reader.bytes.len();
    // A u32 fits a usize on every target this builds for (32 and 64 bits).
    let payload_length = usize::try_from(declared).unwrap_or(usize::MAX);
    let signed_length = reader.take(header_length, payload_length, "payload")?.len() + header_length;
    let count = usize::from(reader.take(signed_length, 1, "signature_count")?[0]);
    if count > MAX_SIGNATURES {
        return Err(EnvelopeError::TooManySignatures { count, offset: signed_length });
    }
    let mut signatures: Vec<SignatureEntry> = Vec::with_capacity(count);
    for index in 0..count {
        let offset = signed_length + 1 + index * SIGNATURE_ENTRY_LENGTH;
        let end = offset + SIGNATURE_ENTRY_LENGTH;
        if length < end {
            return Err(EnvelopeError::SignatureTruncated { index, offset, end, length });
        }
        let key_id = KeyId(reader.array(offset, "key_id")?);
        if let Some(first) = signatures.iter().position(|entry| entry.key_id == key_id) {
            return Err(EnvelopeError::DuplicateSignature { key_id, index, first, offset });
        }
        let signature = reader.array(offset + KEY_ID_LENGTH, "signature")?;
        signatures.push(SignatureEntry { key_id, signature, offset });
    }
    let end = signed_length + 1 + count * SIGNATURE_ENTRY_LENGTH;
    if length > end {
        return Err(EnvelopeError::TrailingBytes { offset: end, count: length - end });
    }
    Ok((signed_length, signatures))
}

impl ParsedEnvelope<'_> {
    /// SHA-256 of the header and payload: what every format-2 signature signs (after
    /// [`SIGNATURE_DOMAIN_V2`]); the release's plan digest reviewers approve.
    pub fn signed_digest(&self) -> [u8; 32] {
        Sha256::digest(self.signed_bytes).into()
    }

    /// The message each signature must verify over: format 1, [`SIGNATURE_DOMAIN`] and the
    /// signed bytes; format 2, [`signed_message_v2`] of the signed digest. Compute it once and
    /// check every [`SignatureEntry`] against it.
    pub fn signed_message(&self) -> Vec<u8> {
        if self.header.format_version == FORMAT_VERSION_1 {
            let mut message = Vec::with_capacity(SIGNATURE_DOMAIN.len() + self.signed_bytes.len());
            message.extend_from_slice(SIGNATURE_DOMAIN);
            message.extend_from_slice(self.signed_bytes);
            message
        } else {
            signed_message_v2(&self.signed_digest()).to_vec()
        }
    }

    /// Whether `key` made signature `index` (false if there is no such entry). For one check;
    /// to check several, reuse [`ParsedEnvelope::signed_message`].
    pub fn signature_is_valid(&self, index: usize, key: &VerifyingKey) -> bool {
        self.signatures.get(index).is_some_and(|entry| entry.matches(&self.signed_message(), key))
    }

    /// What names this plan's content for the anti-rollback floor: format 1, the SHA-256 of the
    /// whole envelope (as before format 2 existed, so stored floors stay valid); format 2, the
    /// signed digest, so the same content with another set of signatures is the same plan and
    /// never mistaken for equivocation.
    pub fn content_digest(&self) -> [u8; 32] {
        if self.header.format_version == FORMAT_VERSION_1 {
            envelope_digest(self.envelope)
        } else {
            self.signed_digest()
        }
    }
}

/// Length of a format-2 signed message: the domain string and the 32-byte digest.
pub const SIGNED_MESSAGE_V2_LENGTH: usize = SIGNATURE_DOMAIN_V2.len() + 32;

/// The message a format-2 signature signs: [`SIGNATURE_DOMAIN_V2`] then the signed digest. A
/// reviewer can sign it knowing only the digest (`crate::cosign::sign_digest`).
pub fn signed_message_v2(signed_digest: &[u8; 32]) -> [u8; SIGNED_MESSAGE_V2_LENGTH] {
    let mut message = [0u8; SIGNED_MESSAGE_V2_LENGTH];
    message[..SIGNATURE_DOMAIN_V2.len()].copy_from_slice(SIGNATURE_DOMAIN_V2);
    message[SIGNATURE_DOMAIN_V2.len()..].copy_from_slice(signed_digest);
    message
}

/// SHA-256 of an envelope's bytes: how the store and the anti-rollback floor name a plan.
pub fn envelope_digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(from_hex(&to_hex(&[0, 1, 0xab, 0xff])), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }
}
