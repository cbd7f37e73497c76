//! The scalar fast path: one id decision per call through a plain C function that takes and
//! returns only numbers, for bindings whose generated call path costs far more than the
//! decision.
//!
//! Why: a UniFFI call from Kotlin goes through JNA with a call-status structure that JNA builds
//! per call; `Gate.decideId` costs 25–80 µs there (`docs/performance.md`), against ~20 ns of
//! decision. A JNA direct-mapped call with only primitive arguments costs well under a
//! microsecond. The Kotlin wrapper (`Trackgate.track`) uses this path for names it resolved
//! before and falls back to the generated calls otherwise.
//!
//! How: [`crate::Gate::scalar_token`] registers the gate's engine in a small fixed table and
//! returns a token (slot and a per-registration serial, so a token of a closed gate never
//! reaches a gate that reuses its slot). [`trackgate_decide_id_scalar`] looks the token up with
//! one lock-free `arc-swap` load and decides by id exactly as `Gate::decide_id` does: the same
//! engine call, counted the same way. Dropping the gate frees the slot.
//!
//! Guarantees: no lock, no I/O and no allocation on the decision path; never unwinds into the
//! caller (a panic, which the engine does not raise, would be caught and reported as a code).
//! Holds no rules: all of them stay in the engine.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use trackgate_core::{Decision, Engine, EventId};

/// Gates that can hold a scalar token at once (apps run one).
pub const SCALAR_SLOTS: usize = 64;

/// Returned for an event id of a plan that is no longer active: nothing was decided or
/// counted; resolve the name again. The same number as `BATCH_CODE_STALE`.
pub const SCALAR_STALE: f64 = -255.0;

/// Returned when the token belongs to no open gate (the gate was closed, or the token was
/// never issued): nothing was decided; use the generated calls, which report the reason.
pub const SCALAR_UNKNOWN_TOKEN: f64 = -254.0;

/// Returned if deciding panicked (the engine does not panic; this is the boundary's promise).
pub const SCALAR_PANICKED: f64 = -253.0;

const SLOT_BITS: u32 = 8;

struct Registration {
    token: u64,
    engine: Arc<Engine>,
}

#[allow(clippy::declare_interior_mutable_const)] // Only used to initialise the array below.
const EMPTY_SLOT: ArcSwapOption<Registration> = ArcSwapOption::const_empty();
static SLOTS: [ArcSwapOption<Registration>; SCALAR_SLOTS] = [EMPTY_SLOT; SCALAR_SLOTS];
static SERIALS: AtomicU64 = AtomicU64::new(1);

/// Registers `engine` and returns its token, or `None` when every slot is taken.
pub(crate) fn register(engine: &Arc<Engine>) -> Option<u64> {
    let serial = SERIALS.fetch_add(1, Ordering::Relaxed);
    for (slot_index, slot) in SLOTS.iter().enumerate() {
        let token = (serial << SLOT_BITS) | slot_index as u64;
        let registration = Arc::new(Registration { token, engine: Arc::clone(engine) });
        let previous = slot.compare_and_swap(&None::<Arc<Registration>>, Some(registration));
        if previous.is_none() {
            return Some(token);
        }
    }
    None
}

/// The slot a token names (tokens of no slot name none).
fn slot_of(token: u64) -> Option<&'static ArcSwapOption<Registration>> {
    SLOTS.get((token & ((1 << SLOT_BITS) - 1)) as usize)
}

/// Frees the slot of `token` if it still holds that registration.
pub(crate) fn unregister(token: u64) {
    let Some(slot) = slot_of(token) else { return };
    let current = slot.load_full();
    if current.as_ref().is_some_and(|registration| registration.token == token) {
        slot.compare_and_swap(&current, None);
    }
}

/// The engine registered under `token`, if the token is current.
fn engine_of(token: u64, decide: impl FnOnce(&Engine) -> f64) -> f64 {
    let Some(slot) = slot_of(token) else { return SCALAR_UNKNOWN_TOKEN };
    match &*slot.load() {
        Some(registration) if registration.token == token => decide(&registration.engine),
        _ => SCALAR_UNKNOWN_TOKEN,
    }
}

/// Decides one event by id for the gate holding `token` (from `Gate::scalar_token`), as
/// `Gate::decide_id` would, and encodes the decision as one number:
/// - at least 1.0: kept, with this sampling weight;
/// - `-code` for a drop, `code` being the reason's batch code (1..=8, `drop_reason_code`);
/// - [`SCALAR_STALE`] (-255): the id belongs to an older plan; nothing was counted;
/// - [`SCALAR_UNKNOWN_TOKEN`] (-254): no open gate has this token; nothing was decided;
/// - [`SCALAR_PANICKED`] (-253): deciding panicked; nothing is promised about counting.
///
/// `size_bytes` is counted up to 4 GiB, as everywhere.
#[no_mangle]
pub extern "C" fn trackgate_decide_id_scalar(token: u64, id: u64, size_bytes: u64) -> f64 {
    catch_unwind(AssertUnwindSafe(|| {
        engine_of(token, |engine| match engine.decide_id(EventId::from_raw(id), size_bytes) {
            Ok(Decision::Keep { weight }) => weight,
            Ok(Decision::Drop { reason }) => -f64::from(reason.code()),
            Err(_) => SCALAR_STALE,
        })
    }))
    .unwrap_or(SCALAR_PANICKED)
}
