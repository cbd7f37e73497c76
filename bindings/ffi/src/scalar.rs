//! The scalar fast path: one decision per call through plain C functions that take numbers
//! (and, for names, a pointer to the name's UTF-8 bytes) and return a number, for bindings
//! whose generated call path costs far more than the decision.
//!
//! Why: a UniFFI call from Kotlin goes through JNA with a call-status structure that JNA builds
//! per call; `Gate.decideId` costs 25–80 µs there and `Gate.decide` more (`docs/performance.md`),
//! against ~20 ns of decision. A JNA direct-mapped call with only primitive (and pointer)
//! arguments costs well under a microsecond. The Kotlin wrapper (`Trackgate.track`) decides
//! every event through these functions and falls back to the generated calls only when they
//! are unavailable or report an unknown token.
//!
//! How: [`crate::Gate::scalar_token`] registers the gate's engine in a small fixed table and
//! returns a token (slot and a per-registration serial, so a token of a closed gate never
//! reaches a gate that reuses its slot). Each function looks the token up with one lock-free
//! `arc-swap` load and makes the same engine call as its `Gate` twin, counted the same way:
//! - [`trackgate_decide_id_scalar`] as `Gate::decide_id`;
//! - [`trackgate_decide_name_scalar`] as `Gate::decide`, the name as a pointer and a length;
//! - [`trackgate_resolve_scalar`] as `Gate::resolve`, so a wrapper learns a name's id without a
//!   generated call.
//!
//! Dropping the gate frees the slot.
//!
//! Guarantees: no lock, no I/O and no allocation on the decision path; never unwinds into the
//! caller (a panic, which the engine does not raise, would be caught and reported as a code).
//! A name that is not UTF-8 is decided as an invalid name, as by `decide_batch_packed`. Holds
//! no rules: all of them stay in the engine. The only `unsafe` is reading the caller's name
//! bytes ([`name_bytes`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use trackgate_core::{Decision, Engine, EventId};

use crate::gate::NOT_UTF8_NAME;

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

/// Returned by [`trackgate_decide_name_scalar`] for a null name pointer with a non-zero length,
/// or a length no memory can have: nothing was decided; use the generated calls.
pub const SCALAR_BAD_NAME: f64 = -252.0;

/// Returned by [`trackgate_resolve_scalar`] when it has no id to give: the name is not
/// registered in the active plan (unregistered, invalid or not UTF-8: decide it by name), the
/// token belongs to no open gate, or the name pointer is bad. No event id is 0: compiled plans'
/// stamps, the id's upper half, start at 1.
pub const SCALAR_NO_ID: u64 = 0;

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

/// `call` on the engine registered under `token` if the token is current, else `unknown`.
fn with_engine<T>(token: u64, unknown: T, call: impl FnOnce(&Engine) -> T) -> T {
    let Some(slot) = slot_of(token) else { return unknown };
    match &*slot.load() {
        Some(registration) if registration.token == token => call(&registration.engine),
        _ => unknown,
    }
}

/// One decision as one number (see [`trackgate_decide_id_scalar`]).
#[inline]
fn encode(decision: Decision) -> f64 {
    match decision {
        Decision::Keep { weight } => weight,
        Decision::Drop { reason } => -f64::from(reason.code()),
    }
}

/// The `length` bytes at `pointer`, or `None` for a null pointer with a non-zero length or a
/// length no allocation can have. A length of 0 is the empty name, whatever the pointer.
///
/// # Safety
/// Unless `length` is 0 or `pointer` is null, `pointer` must point to `length` initialised
/// bytes that stay valid and unchanged until the returned slice is dropped.
unsafe fn name_bytes<'caller>(pointer: *const u8, length: u64) -> Option<&'caller [u8]> {
    let length = usize::try_from(length).ok().filter(|&length| length <= isize::MAX as usize)?;
    if length == 0 {
        return Some(&[]);
    }
    if pointer.is_null() {
        return None;
    }
    // SAFETY:
    // 1. `pointer` is not null (checked above) and, by this function's contract, points to
    //    `length` initialised bytes valid for the slice's lifetime and not written meanwhile;
    // 2. `u8` has alignment 1, so any non-null pointer is aligned;
    // 3. `length <= isize::MAX` (checked above), so the slice's size fits `isize`;
    // 4. the slice is only read, and dropped before the exported function returns.
    Some(unsafe { std::slice::from_raw_parts(pointer, length) })
}

/// The name in `bytes` as `Gate::decide` receives it: a name that is not UTF-8 becomes one no
/// plan can hold, so it gets the decision of every invalid name.
#[inline]
fn name_of(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or(NOT_UTF8_NAME)
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
        with_engine(token, SCALAR_UNKNOWN_TOKEN, |engine| {
            engine.decide_id(EventId::from_raw(id), size_bytes).map_or(SCALAR_STALE, encode)
        })
    }))
    .unwrap_or(SCALAR_PANICKED)
}

/// Decides one event by name for the gate holding `token`, as `Gate::decide` would (the same
/// engine call, counted the same way: unregistered names in the report's table, invalid ones
/// by reason), and encodes the decision as [`trackgate_decide_id_scalar`] does, or returns
/// [`SCALAR_UNKNOWN_TOKEN`] (nothing decided), [`SCALAR_BAD_NAME`] (a null `name` with a
/// non-zero length: nothing decided) or [`SCALAR_PANICKED`].
///
/// The name is the `name_length` bytes at `name`, its UTF-8 encoding; bytes that are not UTF-8
/// are decided as an invalid name. Any length is accepted (names over 128 bytes are invalid).
///
/// # Safety
/// Unless `name_length` is 0 or `name` is null, `name` must point to `name_length` readable,
/// initialised bytes that no one writes during the call.
#[no_mangle]
pub unsafe extern "C" fn trackgate_decide_name_scalar(
    token: u64,
    name: *const u8,
    name_length: u64,
    size_bytes: u64,
) -> f64 {
    // SAFETY:
    // 1. the caller upholds `name_bytes`' contract: this function's own, word for word.
    let Some(bytes) = (unsafe { name_bytes(name, name_length) }) else { return SCALAR_BAD_NAME };
    catch_unwind(AssertUnwindSafe(|| {
        with_engine(token, SCALAR_UNKNOWN_TOKEN, |engine| encode(engine.decide(name_of(bytes), size_bytes)))
    }))
    .unwrap_or(SCALAR_PANICKED)
}

/// The id of `name` in the active plan of the gate holding `token`, as `Gate::resolve` gives
/// it (for [`trackgate_decide_id_scalar`]), or [`SCALAR_NO_ID`] (0) when there is none: the
/// name is unregistered, invalid or not UTF-8 (decide it by name), the token belongs to no
/// open gate, the name pointer is null with a non-zero length, or resolving panicked. Decides
/// and counts nothing.
///
/// # Safety
/// As for [`trackgate_decide_name_scalar`].
#[no_mangle]
pub unsafe extern "C" fn trackgate_resolve_scalar(token: u64, name: *const u8, name_length: u64) -> u64 {
    // SAFETY:
    // 1. the caller upholds `name_bytes`' contract: this function's own, word for word.
    let Some(bytes) = (unsafe { name_bytes(name, name_length) }) else { return SCALAR_NO_ID };
    catch_unwind(AssertUnwindSafe(|| {
        with_engine(token, SCALAR_NO_ID, |engine| engine.resolve(name_of(bytes)).map_or(SCALAR_NO_ID, EventId::to_raw))
    }))
    .unwrap_or(SCALAR_NO_ID)
}

#[cfg(test)]
mod tests {
    //! `name_bytes`, the only `unsafe` of this crate, on every kind of pointer and length;
    //! `scripts/miri.sh` runs these under Miri.
    use super::*;

    #[test]
    fn name_bytes_reads_exactly_the_callers_bytes() {
        let name = String::from("checkout.completed");
        // SAFETY:
        // 1. `name` holds `name.len()` initialised bytes, alive and unwritten for the call.
        let bytes = unsafe { name_bytes(name.as_ptr(), name.len() as u64) };
        assert_eq!(bytes, Some(name.as_bytes()));
        // SAFETY:
        // 1. the first 8 of `name`'s bytes, a prefix of a live allocation.
        assert_eq!(unsafe { name_bytes(name.as_ptr(), 8) }, Some(&b"checkout"[..]));
    }

    #[test]
    fn a_length_of_zero_reads_nothing_whatever_the_pointer() {
        // SAFETY:
        // 1. the length is 0, so no byte is read through either pointer.
        unsafe {
            assert_eq!(name_bytes(std::ptr::null(), 0), Some(&[][..]));
            assert_eq!(name_bytes(std::ptr::NonNull::dangling().as_ptr(), 0), Some(&[][..]));
        }
    }

    #[test]
    fn null_pointers_with_bytes_and_impossible_lengths_are_refused() {
        // SAFETY:
        // 1. each call is refused before reading: a null pointer, or a length over `isize::MAX`.
        unsafe {
            assert_eq!(name_bytes(std::ptr::null(), 1), None);
            assert_eq!(name_bytes(std::ptr::null(), u64::MAX), None);
            assert_eq!(name_bytes(b"x".as_ptr(), u64::MAX), None);
            assert_eq!(name_bytes(b"x".as_ptr(), isize::MAX as u64 + 1), None);
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_become_a_name_no_plan_holds() {
        assert_eq!(name_of(b"a.b"), "a.b");
        assert_eq!(name_of(b"\xff"), NOT_UTF8_NAME);
        assert!(!trackgate_core::name::is_valid_event_name(name_of(b"\xc3")));
    }
}
