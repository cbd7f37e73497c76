//! A C-callable library standing in for an app's native part: it turns received plan bytes
//! into a live engine and decides one event. Built with and without envelope verification to
//! measure the size verification adds (see ../measure.sh).
#![allow(missing_docs)]

use trackgate_core::{CompiledPlan, Decision, Engine, EngineOptions};

#[cfg(feature = "verify")]
fn accept(bytes: &[u8]) -> Option<CompiledPlan> {
    use trackgate_delivery::{verify_envelope, Keyring, Verified, VerifyContext, VerifyPolicy};
    let mut keyring = Keyring::new();
    keyring.add(&[0x3b; 32]).ok()?;
    let context = VerifyContext {
        keyring: &keyring,
        app: "shop",
        env: "prod",
        floor: None,
        now: 1_700_000_000,
        check_time: true,
        policy: VerifyPolicy::default(),
    };
    match verify_envelope(bytes, &context).ok()? {
        Verified::New(verified) => Some(verified.compiled),
        Verified::AlreadyCurrent { .. } => None,
    }
}

#[cfg(not(feature = "verify"))]
fn accept(bytes: &[u8]) -> Option<CompiledPlan> {
    let plan: trackgate_core::Plan = postcard::from_bytes(bytes).ok()?;
    CompiledPlan::compile(&plan).ok()
}

/// Accepts a plan and decides `checkout.completed`; 1 kept, 0 dropped, -1 refused.
#[no_mangle]
pub extern "C" fn trackgate_probe(bytes: *const u8, length: usize) -> i32 {
    if bytes.is_null() {
        return -1;
    }
    // SAFETY: the caller passes a valid buffer of `length` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(bytes, length) };
    let Some(plan) = accept(bytes) else { return -1 };
    let Ok(engine) = Engine::new(plan, EngineOptions { unit_id: Some("unit".into()), ..EngineOptions::default() })
    else {
        return -1;
    };
    i32::from(matches!(engine.decide("checkout.completed", 10), Decision::Keep { .. }))
}
