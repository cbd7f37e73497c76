//! `trackgate inspect`: show an envelope's header and plan summary, verifying it when keys are
//! given. Exit 1 with the reason when the envelope is invalid.

use std::path::PathBuf;

use clap::Args;
use trackgate_core::plan::{EventStatus, UnregisteredPolicy};
use trackgate_core::{Plan, Priority};
use trackgate_delivery::envelope::DEFAULT_MAX_ENVELOPE_BYTES;
use trackgate_delivery::{
    compile_checked, decode_plan, parse_envelope, verify_envelope, EnvelopeHeader, Verified, VerifyContext,
    VerifyPolicy,
};

use super::{format_time, read_keyring, unix_now};
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
}

/// Runs `trackgate inspect`.
pub fn run(args: &InspectArgs) -> Result<(), Failure> {
    // Keys first: a wrong key file (a signing key, say) is refused before anything is printed.
    let keyring = if args.public_keys.is_empty() { None } else { Some(read_keyring(&args.public_keys)?) };
    let bytes = read_capped(&args.file, ENVELOPE_CAP, "envelope")?;
    let refused = |reason: String| Failure::refused(format!("{}: invalid envelope: {reason}", args.file.display()));
    let envelope = parse_envelope(&bytes, DEFAULT_MAX_ENVELOPE_BYTES).map_err(|error| refused(error.to_string()))?;
    print_header(&envelope.header, bytes.len(), envelope.payload.len())?;
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
                outln!("signature:      valid (key {})", envelope.header.key_id);
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

fn print_header(header: &EnvelopeHeader, total: usize, payload: usize) -> Result<(), Failure> {
    outln!("format:         {} (algorithm {} = Ed25519)", header.format_version, header.algorithm);
    outln!("key id:         {}", header.key_id);
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
