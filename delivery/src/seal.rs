//! The publisher's side of the envelope: sealing in format 1 (one key) and format 2 (any
//! number of keys, including none), and co-signing: adding one signature to a format-2
//! envelope without changing a byte of what was signed.
//!
//! Co-signing works on the *signed digest* (SHA-256 of header and payload,
//! [`ParsedEnvelope::signed_digest`]): one party seals the envelope (unsigned or signed by its
//! own key), each reviewer signs the digest with [`sign_digest`] or the whole envelope with
//! [`add_signature`], and [`attach_signature`] adds a signature made elsewhere after checking
//! it. The signed bytes are copied unchanged; only the signature block grows. Apps never sign.
//! Pure computation, no I/O.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::envelope::{
    parse_envelope, signed_message_v2, EnvelopeError, KeyId, ParsedEnvelope, ALGORITHM_ED25519, FIXED_HEADER_LENGTH,
    FORMAT_VERSION_1, FORMAT_VERSION_2, KEY_ID_LENGTH, MAGIC, MAX_SCOPE_BYTES, MAX_SIGNATURES, SIGNATURE_DOMAIN,
    SIGNATURE_ENTRY_LENGTH, SIGNATURE_LENGTH,
};

/// What a publisher puts in an envelope header (the key id comes from the signing key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeFields {
    /// The plan version.
    pub config_version: u64,
    /// Signing time, Unix seconds.
    pub issued_at: u64,
    /// Expiry, Unix seconds; must be after `issued_at`.
    pub expires_at: u64,
    /// Payload encoding ([`crate::envelope::PAYLOAD_SCHEMA_POSTCARD_PLAN_V1`]).
    pub payload_schema: u16,
    /// Application.
    pub app: String,
    /// Environment.
    pub env: String,
}

/// Why an envelope could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The same key given twice: it would count once, and devices refuse the envelope.
    #[error("key {0} is given twice; each key signs once")]
    DuplicateKey(KeyId),
    /// More keys than a format-2 envelope holds.
    #[error("{0} keys; an envelope holds at most {MAX_SIGNATURES} signatures")]
    TooManyKeys(usize),
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

/// Builds and signs a format-1 envelope (one signature) around `payload`. Does not look inside the payload: use
/// [`crate::seal_plan`] for plans; this form exists for tools and for tests that need
/// deliberately bad payloads under a good signature.
pub fn seal_payload(fields: &EnvelopeFields, payload: &[u8], key: &SigningKey) -> Result<Vec<u8>, SealError> {
    let key_id = KeyId::of(key.verifying_key().as_bytes());
    let mut bytes = signed_part(fields, payload, FORMAT_VERSION_1, key_id.0, SIGNATURE_LENGTH)?;
    let mut message = Vec::with_capacity(SIGNATURE_DOMAIN.len() + bytes.len());
    message.extend_from_slice(SIGNATURE_DOMAIN);
    message.extend_from_slice(&bytes);
    bytes.extend_from_slice(&key.sign(&message).to_bytes());
    Ok(bytes)
}

/// Builds a format-2 envelope around `payload` signed by each of `keys` (none: an unsigned
/// envelope for others to co-sign with [`add_signature`]). Refuses a key given twice and more
/// than [`MAX_SIGNATURES`] keys.
pub fn seal_payload_v2(fields: &EnvelopeFields, payload: &[u8], keys: &[&SigningKey]) -> Result<Vec<u8>, SealError> {
    if keys.len() > MAX_SIGNATURES {
        return Err(SealError::TooManyKeys(keys.len()));
    }
    let ids: Vec<KeyId> = keys.iter().map(|key| KeyId::of(key.verifying_key().as_bytes())).collect();
    for (index, id) in ids.iter().enumerate() {
        if ids[..index].contains(id) {
            return Err(SealError::DuplicateKey(*id));
        }
    }
    let mut bytes =
        signed_part(fields, payload, FORMAT_VERSION_2, [0; KEY_ID_LENGTH], 1 + keys.len() * SIGNATURE_ENTRY_LENGTH)?;
    let message = signed_message_v2(&Sha256::digest(&bytes).into());
    bytes.push(keys.len() as u8);
    for (key, id) in keys.iter().zip(&ids) {
        bytes.extend_from_slice(&id.0);
        bytes.extend_from_slice(&key.sign(&message).to_bytes());
    }
    Ok(bytes)
}

/// Header and payload (the signed bytes), with room for `tail` more bytes.
fn signed_part(
    fields: &EnvelopeFields,
    payload: &[u8],
    format_version: u16,
    key_id_field: [u8; KEY_ID_LENGTH],
    tail: usize,
) -> Result<Vec<u8>, SealError> {
    for (name, value) in [("app", &fields.app), ("env", &fields.env)] {
        if value.is_empty() || value.len() > MAX_SCOPE_BYTES {
            return Err(SealError::BadScope(name));
        }
    }
    if fields.expires_at <= fields.issued_at {
        return Err(SealError::ExpiresBeforeIssued);
    }
    let payload_length = u32::try_from(payload.len()).map_err(|_| SealError::PayloadTooLarge(payload.len()))?;
    let mut bytes =
        Vec::with_capacity(FIXED_HEADER_LENGTH + 2 + fields.app.len() + fields.env.len() + payload.len() + tail);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&format_version.to_le_bytes());
    bytes.push(ALGORITHM_ED25519);
    bytes.push(0);
    bytes.extend_from_slice(&key_id_field);
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
    Ok(bytes)
}

/// Why a signature could not be added to an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignError {
    /// The envelope does not parse.
    #[error("not a well-formed envelope: {0}")]
    Malformed(#[from] EnvelopeError),
    /// A format-1 envelope holds exactly one signature.
    #[error("a format-1 envelope holds one signature; seal the plan in format 2 to co-sign it")]
    Format1,
    /// This key already signed the envelope.
    #[error("key {0} already signed this envelope (signature {1})")]
    AlreadySigned(KeyId, usize),
    /// The signature block is full.
    #[error("the envelope already holds {MAX_SIGNATURES} signatures, the most it may")]
    Full,
    /// The signature offered does not verify over the envelope's signed digest with that key.
    #[error("the signature does not match this envelope's signed digest under key {0}")]
    BadSignature(KeyId),
}

/// The format-2 signature of `key` over a signed digest ([`ParsedEnvelope::signed_digest`]):
/// what a reviewer computes to approve a release knowing only its digest.
pub fn sign_digest(signed_digest: &[u8; 32], key: &SigningKey) -> [u8; SIGNATURE_LENGTH] {
    key.sign(&signed_message_v2(signed_digest)).to_bytes()
}

/// Adds `key`'s signature to a format-2 envelope (the signed bytes are unchanged). Refuses a
/// format-1 envelope, a key that already signed and a full block; does not check the other
/// signatures (devices do).
pub fn add_signature(envelope: &[u8], key: &SigningKey) -> Result<Vec<u8>, CosignError> {
    let parsed = parse_for_cosigning(envelope)?;
    let signature = sign_digest(&parsed.signed_digest(), key);
    append(&parsed, KeyId::of(key.verifying_key().as_bytes()), &signature)
}

/// Adds a signature made elsewhere (by [`sign_digest`]) by `public_key`, after checking that it
/// verifies over this envelope's signed digest. Same refusals as [`add_signature`].
pub fn attach_signature(
    envelope: &[u8],
    public_key: &VerifyingKey,
    signature: &[u8; SIGNATURE_LENGTH],
) -> Result<Vec<u8>, CosignError> {
    let parsed = parse_for_cosigning(envelope)?;
    let key_id = KeyId::of(public_key.as_bytes());
    let message = signed_message_v2(&parsed.signed_digest());
    if public_key.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(signature)).is_err() {
        return Err(CosignError::BadSignature(key_id));
    }
    append(&parsed, key_id, signature)
}

fn parse_for_cosigning(envelope: &[u8]) -> Result<ParsedEnvelope<'_>, CosignError> {
    // The envelope cap does not apply here: a publisher's own file, already bounded by the
    // caller's reader.
    let parsed = parse_envelope(envelope, usize::MAX)?;
    if parsed.header.format_version != FORMAT_VERSION_2 {
        return Err(CosignError::Format1);
    }
    Ok(parsed)
}

fn append(
    parsed: &ParsedEnvelope<'_>,
    key_id: KeyId,
    signature: &[u8; SIGNATURE_LENGTH],
) -> Result<Vec<u8>, CosignError> {
    if let Some(index) = parsed.signatures.iter().position(|entry| entry.key_id == key_id) {
        return Err(CosignError::AlreadySigned(key_id, index));
    }
    if parsed.signatures.len() >= MAX_SIGNATURES {
        return Err(CosignError::Full);
    }
    let signed = parsed.signed_bytes;
    let mut bytes = Vec::with_capacity(signed.len() + 1 + (parsed.signatures.len() + 1) * SIGNATURE_ENTRY_LENGTH);
    bytes.extend_from_slice(signed);
    bytes.push(parsed.signatures.len() as u8 + 1);
    bytes.extend_from_slice(&parsed.envelope[signed.len() + 1..]);
    bytes.extend_from_slice(&key_id.0);
    bytes.extend_from_slice(signature);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{envelope_digest, DEFAULT_MAX_ENVELOPE_BYTES, PAYLOAD_SCHEMA_POSTCARD_PLAN_V1};

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

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn format_1_envelopes_parse_back_and_verify() {
        let bytes = seal_payload(&fields(), b"payload", &key(7)).expect("seals");
        let parsed = parse_envelope(&bytes, DEFAULT_MAX_ENVELOPE_BYTES).expect("parses");
        assert_eq!(parsed.header.config_version, 7);
        assert_eq!(parsed.header.app, "shop");
        assert_eq!(parsed.signatures.len(), 1);
        assert_eq!(parsed.signatures[0].key_id, KeyId::of(key(7).verifying_key().as_bytes()));
        assert_eq!(parsed.payload, b"payload");
        assert_eq!(parsed.header_length, FIXED_HEADER_LENGTH + 2 + 8);
        assert!(parsed.signature_is_valid(0, &key(7).verifying_key()));
        assert!(!parsed.signature_is_valid(0, &key(8).verifying_key()));
        assert!(!parsed.signature_is_valid(1, &key(7).verifying_key()));
        assert_eq!(parsed.content_digest(), envelope_digest(&bytes));
    }

    #[test]
    fn co_signing_adds_signatures_without_changing_the_signed_bytes() {
        let unsigned = seal_payload_v2(&fields(), b"payload", &[]).expect("seals");
        let parsed = parse_envelope(&unsigned, DEFAULT_MAX_ENVELOPE_BYTES).expect("parses");
        assert!(parsed.signatures.is_empty());
        let digest = parsed.signed_digest();
        let once = add_signature(&unsigned, &key(1)).expect("signs");
        let twice = attach_signature(&once, &key(2).verifying_key(), &sign_digest(&digest, &key(2))).expect("attaches");
        let parsed = parse_envelope(&twice, DEFAULT_MAX_ENVELOPE_BYTES).expect("parses");
        assert_eq!(parsed.signed_digest(), digest);
        assert_eq!(parsed.content_digest(), digest);
        assert_ne!(envelope_digest(&twice), digest);
        assert_eq!(parsed.signed_bytes, &unsigned[..unsigned.len() - 1]);
        assert!(parsed.signature_is_valid(0, &key(1).verifying_key()));
        assert!(parsed.signature_is_valid(1, &key(2).verifying_key()));
        // Sealing with both keys at once gives the same bytes: signatures are deterministic.
        assert_eq!(seal_payload_v2(&fields(), b"payload", &[&key(1), &key(2)]).expect("seals"), twice);
    }

    #[test]
    fn co_signing_refuses_what_would_not_count() {
        let once = seal_payload_v2(&fields(), b"payload", &[&key(1)]).expect("seals");
        let id = KeyId::of(key(1).verifying_key().as_bytes());
        assert_eq!(add_signature(&once, &key(1)), Err(CosignError::AlreadySigned(id, 0)));
        let v1 = seal_payload(&fields(), b"payload", &key(1)).expect("seals");
        assert_eq!(add_signature(&v1, &key(2)), Err(CosignError::Format1));
        let other = KeyId::of(key(3).verifying_key().as_bytes());
        assert_eq!(attach_signature(&once, &key(3).verifying_key(), &[0; 64]), Err(CosignError::BadSignature(other)));
        assert_eq!(seal_payload_v2(&fields(), b"p", &[&key(1), &key(1)]), Err(SealError::DuplicateKey(id)));
        let keys: Vec<SigningKey> = (1..=17).map(key).collect();
        let refs: Vec<&SigningKey> = keys.iter().collect();
        assert_eq!(seal_payload_v2(&fields(), b"p", &refs), Err(SealError::TooManyKeys(17)));
        let mut full = seal_payload_v2(&fields(), b"p", &refs[..16]).expect("seals");
        assert_eq!(add_signature(&full, &keys[16]), Err(CosignError::Full));
        full.truncate(full.len() - 1);
        assert!(matches!(add_signature(&full, &keys[16]), Err(CosignError::Malformed(_))));
    }
}
