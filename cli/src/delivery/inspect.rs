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

use super::{format_time, read_file, read_keyring, unix_now};
use crate::Failure;

/// Arguments of `trackgate inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The envelope file.
    file: PathBuf,
    /// Trusted public key files; with none, the signature is not checked.
    #[arg(long = "pubkey")]
    public_keys: Vec<PathBuf>,
}

/// Runs `trackgate inspect`.
pub fn run(args: &InspectArgs) -> Result<(), Failure> {
    let bytes = read_file(&args.file)?;
    let refused = |reason: String| Failure::refused(format!("{}: invalid envelope: {reason}", args.file.display()));
    let envelope = parse_envelope(&bytes, DEFAULT_MAX_ENVELOPE_BYTES).map_err(|error| refused(error.to_string()))?;
    print_header(&envelope.header, bytes.len(), envelope.payload.len());
    let plan = if args.public_keys.is_empty() {
        println!("signature:      NOT CHECKED (pass --pubkey to verify)");
        let plan = decode_plan(envelope.payload, envelope.header_length).map_err(|error| refused(error.to_string()))?;
        compile_checked(&plan).map_err(|error| refused(error.to_string()))?;
        plan
    } else {
        let keyring = read_keyring(&args.public_keys)?;
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
                println!("signature:      valid (key {})", envelope.header.key_id);
                verified.plan
            }
            // Only possible with a floor, and none is given; refuse rather than trust blindly.
            Verified::AlreadyCurrent { .. } => return Err(refused("verification gave no plan".into())),
        }
    };
    print_summary(&plan);
    Ok(())
}

fn print_header(header: &EnvelopeHeader, total: usize, payload: usize) {
    println!("format:         {} (algorithm {} = Ed25519)", header.format_version, header.algorithm);
    println!("key id:         {}", header.key_id);
    println!("scope:          {}/{}", header.app, header.env);
    println!("config version: {}", header.config_version);
    println!("issued at:      {} ({})", header.issued_at, format_time(header.issued_at));
    println!("expires at:     {} ({})", header.expires_at, format_time(header.expires_at));
    println!("payload:        schema {}, {payload} bytes; envelope {total} bytes", header.payload_schema);
}

fn print_summary(plan: &Plan) {
    let active = |priority: Priority| {
        plan.events.values().filter(|rule| rule.priority == priority && rule.status == EventStatus::Active).count()
    };
    let retired = plan.events.values().filter(|rule| rule.status == EventStatus::Retired).count();
    let sampled = plan.events.values().filter(|rule| !rule.sample.is_always()).count();
    let rate_limited = plan.events.values().filter(|rule| rule.rate_limit.is_some()).count();
    println!(
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
    println!(
        "rules:          enabled {}, shadow {}, unregistered {unregistered}, shed below {shed}",
        plan.enabled, plan.shadow
    );
}
