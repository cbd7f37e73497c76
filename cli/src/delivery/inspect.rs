//! `trackgate inspect`: show an envelope's header and plan summary, verifying it when keys are
//! given. Exit 1 with the reason when the envelope is invalid.

use std::path::PathBuf;

use clap::Args;
use trackgate_core::plan::{EventStatus, UnregisteredPolicy};
use trackgate_core::{Plan, Priority};
use trackgate_delivery::envelope::DEFAULT_MAX_ENVELOPE_BYTES;
use trackgate_delivery::{
    compile_checked, decode_plan, parse_envelope, verify_envelope, Keyring, ParsedEnvelope, Verified, VerifyContext,
    VerifyPolicy,
};

use super::{format_time, read_trust, unix_now};
use crate::files::{read_capped, ENVELOPE_CAP};
use crate::Failure;

/// Arguments of `trackgate inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The envelope file.
    file: PathBuf,
    /// Trusted public key files (`public.key` or `public.hex` from `trackgate keygen`; a signing
    /// key is refused); with none, the signature is not checked. Files over the 8 MiB envelope
    /// cap are refused unread. Example: `trackgate inspect plan-8.tgplan --pubkey keys/public.key`.
    #[arg(long = "pubkey")]
    public_keys: Vec<PathBuf>,
    /// A keyring file (JSON: keys with roles, thresholds, revoked keys; see
    /// docs/config-delivery.md) to verify against instead of `--pubkey` files.
    #[arg(long)]
    keyring: Option<PathBuf>,
}

/// Runs `trackgate inspect`.
pub fn run(args: &InspectArgs) -> Result<(), Failure> {
    // Keys first: a wrong key file (a signing key, say) is refused before anything is printed.
    let keyring = read_trust(&args.public_keys, args.keyring.as_deref())?;
    let bytes = read_capped(&args.file, ENVELOPE_CAP, "envelope")?;
    let refused = |reason: String| Failure::refused(format!("{}: invalid envelope: {reason}", args.file.display()));
    let envelope = parse_envelope(&bytes, DEFAULT_MAX_ENVELOPE_BYTES).map_err(|error| refused(error.to_string()))?;
    print_header(&envelope)?;
    let plan = if let Some(keyring) = keyring {
        let context = VerifyContext {
            keyring: &keyring,
            app: &envelope.header.app,
            env: &envelope.header.env,
            floor: None,
            now: unix_now(),
            check_time: true,
            policy: VerifyPolicy::default(),
        };
        match verify_envelope(&bytes, &context).map_err(|error| refused(error.to_string()))? {
            Verified::New(verified) => {
                let signers: Vec<String> = verified.signers.iter().map(|id| signer(&keyring, *id)).collect();
                let policy = if keyring.is_legacy() {
                    "any one trusted key".to_owned()
                } else {
                    let roles: Vec<String> =
                        keyring.thresholds().map(|(role, count)| format!("{count} {role}")).collect();
                    roles.join(" + ")
                };
                outln!("signature:      valid ({}; policy: {policy})", signers.join(", "));
                verified.plan
            }
            // Only possible with a floor, and none is given; refuse rather than trust blindly.
            Verified::AlreadyCurrent { .. } => return Err(refused("verification gave no plan".into())),
        }
    } else {
        outln!("signature:      NOT CHECKED (pass --pubkey to verify)");
        let plan = decode_plan(envelope.payload, envelope.header_length).map_err(|error| refused(error.to_string()))?;
        compile_checked(&plan).map_err(|error| refused(error.to_string()))?;
        plan
    };
    print_summary(&plan)
}

/// `key 0123456789abcdef` with its role in `keyring`, if it has one.
fn signer(keyring: &Keyring, id: trackgate_delivery::KeyId) -> String {
    match keyring.role_of(id) {
        Some(role) => format!("key {id} ({role})"),
        None => format!("key {id}"),
    }
}

fn print_header(envelope: &ParsedEnvelope<'_>) -> Result<(), Failure> {
    let header = &envelope.header;
    let (total, payload) = (envelope.envelope.len(), envelope.payload.len());
    outln!("format:         {} (algorithm {} = Ed25519)", header.format_version, header.algorithm);
    if header.format_version == trackgate_delivery::envelope::FORMAT_VERSION_1 {
        outln!("key id:         {}", envelope.signatures[0].key_id);
    } else {
        outln!("signed digest:  {}", trackgate_delivery::envelope::to_hex(&envelope.signed_digest()));
        outln!("signatures:     {}", envelope.signatures.len());
        for (index, entry) in envelope.signatures.iter().enumerate() {
            outln!("  [{index}] key {} (byte {})", entry.key_id, entry.offset);
        }
    }
    outln!("scope:          {}/{}", header.app, header.env);
    outln!("config version: {}", header.config_version);
    outln!("issued at:      {} ({})", header.issued_at, format_time(header.issued_at));
    outln!("expires at:     {} ({})", header.expires_at, format_time(header.expires_at));
    outln!("payload:        schema {}, {payload} bytes; envelope {total} bytes", header.payload_schema);
    Ok(())
}

fn print_summary(plan: &Plan) -> Result<(), Failure> {
    let active = |priority: Priority| {
        plan.events.values().filter(|rule| rule.priority == priority && rule.status == EventStatus::Active).count()
    };
    let retired = plan.events.values().filter(|rule| rule.status == EventStatus::Retired).count();
    let sampled = plan.events.values().filter(|rule| !rule.sample.is_always()).count();
    let rate_limited = plan.events.values().filter(|rule| rule.rate_limit.is_some()).count();
    outln!(
        "events:         {} ({} P0, {} P1, {} P2, {} P3 active; {retired} retired; {sampled} sampled; {rate_limited} rate-limited)",
        plan.events.len(),
        active(Priority::P0),
        active(Priority::P1),
        active(Priority::P2),
        active(Priority::P3)
    );
    let unregistered = match plan.unregistered {
        UnregisteredPolicy::Drop => "drop",
        UnregisteredPolicy::Keep => "keep",
    };
    let shed = plan.shed_below.map_or("none".to_owned(), |priority| priority.to_string());
    outln!(
        "rules:          enabled {}, shadow {}, unregistered {unregistered}, shed below {shed}",
        plan.enabled,
        plan.shadow
    );
    Ok(())
}
