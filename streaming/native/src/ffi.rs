//! The C ABI the JVM calls through JNA direct mapping (`streaming/flink`, `NativeStream`).
//!
//! Every function takes a handle made by [`tg_stream_new`], never panics across the boundary
//! (a panic becomes [`STATUS_PANIC`]), and leaves its answer in the handle's result buffer,
//! read with [`tg_stream_result`] until the next call on the same handle. A handle is used by
//! one thread at a time (one Flink task); handles share nothing.
//!
//! Status codes (`i64`): a value `>= 0` is the result's length in bytes (or, for
//! [`tg_stream_offer`], the outcome); [`STATUS_ERROR`] means the result holds a UTF-8 message;
//! [`STATUS_PANIC`] means the library failed internally and the handle must be dropped.
//!
//! The packed result of [`tg_stream_filter`] (all integers little-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 0..8 | lines in the block |
//! | 8..16 | blank lines |
//! | 16..24 | malformed lines |
//! | 24..44 | five `u32` byte lengths: kept lines for P0, P1, P2, P3, then without a priority |
//! | 44..64 | five `u32` line counts, in the same order |
//! | 64.. | one `u32` per kept line, destinations in that order: its length without the `\n` |
//! | then | the five buffers, in that order, each of whole `\n`-terminated tagged lines |
//!
//! The line lengths let the caller cut records without scanning the bytes for newlines.

#![allow(unsafe_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::{merge_stats, Offer, StreamConfig, StreamError, StreamFilter};

/// The call failed; the result holds a message.
pub const STATUS_ERROR: i64 = -1;
/// The library failed internally (a bug); drop the handle.
pub const STATUS_PANIC: i64 = -2;
/// [`tg_stream_offer`]: a newer plan was installed.
pub const OFFER_INSTALLED: i64 = 0;
/// [`tg_stream_offer`]: the very envelope already active.
pub const OFFER_ALREADY_CURRENT: i64 = 1;
/// [`tg_stream_offer`]: refused; nothing changed.
pub const OFFER_REFUSED: i64 = 2;
/// Bytes before the kept lines' lengths in a packed block result.
pub const BLOCK_HEADER_BYTES: usize = 64;

/// A task's state as the JVM holds it: the filter and the buffer answers are read from.
pub struct Handle {
    stream: StreamFilter,
    result: Vec<u8>,
}

/// The bytes at `pointer`, or an empty slice for a null pointer or zero length.
///
/// # Safety
/// 1. When `length > 0`, `pointer` points to `length` readable bytes that stay valid and
///    unmodified for the call (the JVM passes a direct buffer or a JNA-owned copy).
unsafe fn bytes<'call>(pointer: *const u8, length: usize) -> &'call [u8] {
    if pointer.is_null() || length == 0 {
        return &[];
    }
    // SAFETY: 1. the caller's contract above.
    unsafe { std::slice::from_raw_parts(pointer, length) }
}

/// Runs `work` on the handle, turning errors and panics into status codes.
///
/// # Safety
/// 1. `handle` is null or came from [`tg_stream_new`] and was not freed.
/// 2. No other thread uses the handle during the call.
unsafe fn with_handle(handle: *mut Handle, work: impl FnOnce(&mut Handle) -> Result<i64, StreamError>) -> i64 {
    if handle.is_null() {
        return STATUS_PANIC;
    }
    // SAFETY: 1 and 2: a live, exclusively used handle.
    let handle = unsafe { &mut *handle };
    match catch_unwind(AssertUnwindSafe(|| work(handle))) {
        Ok(Ok(status)) => status,
        Ok(Err(error)) => {
            handle.result.clear();
            handle.result.extend_from_slice(error.to_string().as_bytes());
            STATUS_ERROR
        }
        Err(_) => STATUS_PANIC,
    }
}

/// Makes a handle from the JSON configuration (`config`, `config_length` bytes). On a bad
/// configuration returns null and writes the message, cut to `error_capacity - 1` bytes and
/// NUL-terminated, into `error`.
///
/// # Safety
/// `config` points to `config_length` readable bytes; `error` to `error_capacity` writable ones
/// (or is null).
#[no_mangle]
pub unsafe extern "C" fn tg_stream_new(
    config: *const u8,
    config_length: usize,
    error: *mut u8,
    error_capacity: usize,
) -> *mut Handle {
    // SAFETY: the caller's contract: `config_length` readable bytes.
    let text = unsafe { bytes(config, config_length) };
    let made = catch_unwind(|| StreamConfig::parse(text).map(StreamFilter::new));
    let message = match made {
        Ok(Ok(stream)) => return Box::into_raw(Box::new(Handle { stream, result: Vec::new() })),
        Ok(Err(failure)) => failure.to_string(),
        Err(_) => "internal error while reading the configuration".to_owned(),
    };
    if !error.is_null() && error_capacity > 0 {
        let length = message.len().min(error_capacity - 1);
        // SAFETY: `error` has `error_capacity` writable bytes and `length + 1 <= error_capacity`;
        // the message is a separate allocation, so the ranges do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(message.as_ptr(), error, length);
            *error.add(length) = 0;
        }
    }
    std::ptr::null_mut()
}

/// Frees a handle (null is ignored).
///
/// # Safety
/// `handle` came from [`tg_stream_new`], is not used by another thread and is not used again.
#[no_mangle]
pub unsafe extern "C" fn tg_stream_free(handle: *mut Handle) {
    if !handle.is_null() {
        // SAFETY: the caller's contract: the handle is ours to free, once.
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// The result buffer of the last call on `handle` (valid until the next call on it).
///
/// # Safety
/// `handle` is a live handle (see [`tg_stream_free`]).
#[no_mangle]
pub unsafe extern "C" fn tg_stream_result(handle: *const Handle) -> *const u8 {
    if handle.is_null() {
        return std::ptr::null();
    }
    // SAFETY: a live handle; only its buffer's address is read.
    unsafe { (*handle).result.as_ptr() }
}

/// The length of the result buffer of the last call on `handle` (for a message after
/// [`STATUS_ERROR`]; other calls return it as their status).
///
/// # Safety
/// `handle` is a live handle (see [`tg_stream_free`]).
#[no_mangle]
pub unsafe extern "C" fn tg_stream_result_length(handle: *const Handle) -> i64 {
    if handle.is_null() {
        return 0;
    }
    // SAFETY: a live handle; only its buffer's length is read.
    unsafe { (*handle).result.len() as i64 }
}

/// Offers a signed envelope (`now`: Unix seconds from the host clock; `restoring` non-zero for
/// the job's own checkpointed envelope). Returns [`OFFER_INSTALLED`], [`OFFER_ALREADY_CURRENT`]
/// or [`OFFER_REFUSED`]; the result holds one JSON object describing it (`outcome`, and
/// `version`, `app`, `env`, `issued_at`, `expires_at`, `format_version`, or `reason` and `message`).
///
/// # Safety
/// `handle` is live and used by this thread only; `envelope` points to `length` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn tg_stream_offer(
    handle: *mut Handle,
    envelope: *const u8,
    length: usize,
    now: u64,
    restoring: i32,
) -> i64 {
    // SAFETY: the caller's contract.
    let envelope = unsafe { bytes(envelope, length) };
    // SAFETY: the caller's contract.
    unsafe {
        with_handle(handle, |handle| {
            let (status, description) = match handle.stream.offer(envelope, now, restoring != 0)? {
                Offer::Installed(header) => (
                    OFFER_INSTALLED,
                    serde_json::json!({
                        "outcome": "installed",
                        "version": header.plan_version,
                        "app": header.app,
                        "env": header.env,
                        "issued_at": header.issued_at,
                        "expires_at": header.expires_at,
                        "format_version": header.format_version,
                    }),
                ),
                Offer::AlreadyCurrent(version) => {
                    (OFFER_ALREADY_CURRENT, serde_json::json!({"outcome": "already_current", "version": version}))
                }
                Offer::Refused(error) => (
                    OFFER_REFUSED,
                    serde_json::json!({"outcome": "refused", "reason": error.kind(), "message": error.to_string()}),
                ),
            };
            handle.result.clear();
            handle.result.extend_from_slice(description.to_string().as_bytes());
            Ok(status)
        })
    }
}

/// Filters a block of whole `\n`-separated lines under the active plan; the result is packed
/// (see the module's table) and its length returned.
///
/// # Safety
/// `handle` is live and used by this thread only; `block` points to `length` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn tg_stream_filter(handle: *mut Handle, block: *const u8, length: usize) -> i64 {
    // SAFETY: the caller's contract.
    let block = unsafe { bytes(block, length) };
    // SAFETY: the caller's contract.
    unsafe {
        with_handle(handle, |handle| {
            let counts = handle.stream.filter_block(block)?;
            let kept = &handle.stream.kept().0;
            let starts = handle.stream.kept_line_starts();
            let result = &mut handle.result;
            result.clear();
            let lines: usize = starts.iter().map(Vec::len).sum();
            result.reserve(BLOCK_HEADER_BYTES + 4 * lines + kept.iter().map(Vec::len).sum::<usize>());
            for count in [counts.lines, counts.blank, counts.malformed] {
                result.extend_from_slice(&count.to_le_bytes());
            }
            for buffer in kept {
                // A block's kept lines are at most its bytes plus tags per line: far below 4 GiB
                // for any block a task builds (the job caps blocks at a few MiB). Below 4 GiB,
                // every line start and line count fits a u32 too.
                let length = u32::try_from(buffer.len()).map_err(|_| StreamError::Config("block too large".into()))?;
                result.extend_from_slice(&length.to_le_bytes());
            }
            for starts in starts {
                result.extend_from_slice(&(starts.len() as u32).to_le_bytes());
            }
            for (buffer, starts) in kept.iter().zip(starts) {
                let ends = starts.iter().skip(1).copied().chain([buffer.len() as u32]);
                for (start, end) in starts.iter().zip(ends) {
                    // Every kept line ends with its newline, so `end > start`.
                    result.extend_from_slice(&(end - start - 1).to_le_bytes());
                }
            }
            for buffer in kept {
                result.extend_from_slice(buffer);
            }
            Ok(result.len() as i64)
        })
    }
}

/// Takes the counts since the last take as one filter-stats record (compact JSON), labelled
/// with `window` (absent when `window_length` is negative) and `input`; counting restarts.
///
/// # Safety
/// `handle` is live and used by this thread only; the texts point to that many readable bytes.
#[no_mangle]
pub unsafe extern "C" fn tg_stream_take_stats(
    handle: *mut Handle,
    window: *const u8,
    window_length: i64,
    input: *const u8,
    input_length: usize,
) -> i64 {
    // SAFETY: the caller's contract.
    let (window, input) = unsafe { (bytes(window, window_length.max(0) as usize), bytes(input, input_length)) };
    // SAFETY: the caller's contract.
    unsafe {
        with_handle(handle, |handle| {
            let window = (window_length >= 0).then(|| String::from_utf8_lossy(window).into_owned());
            let stats = handle.stream.take_stats(window, String::from_utf8_lossy(input).into_owned())?;
            write_json(&mut handle.result, &stats)
        })
    }
}

/// Whether lines were counted since the last [`tg_stream_take_stats`]: 1 or 0.
///
/// # Safety
/// `handle` is live and used by this thread only.
#[no_mangle]
pub unsafe extern "C" fn tg_stream_has_counts(handle: *mut Handle) -> i64 {
    // SAFETY: the caller's contract.
    unsafe { with_handle(handle, |handle| Ok(i64::from(handle.stream.has_counts()))) }
}

/// Merges two filter-stats records of one plan and window (`later` after `earlier`) into one
/// (compact JSON in the result).
///
/// # Safety
/// `handle` is live and used by this thread only; the records point to that many readable bytes.
#[no_mangle]
pub unsafe extern "C" fn tg_stream_merge_stats(
    handle: *mut Handle,
    earlier: *const u8,
    earlier_length: usize,
    later: *const u8,
    later_length: usize,
) -> i64 {
    // SAFETY: the caller's contract.
    let (earlier, later) = unsafe { (bytes(earlier, earlier_length), bytes(later, later_length)) };
    // SAFETY: the caller's contract.
    unsafe {
        with_handle(handle, |handle| {
            let merged = merge_stats(earlier, later)?;
            write_json(&mut handle.result, &merged)
        })
    }
}

fn write_json(result: &mut Vec<u8>, stats: &trackgate_etl::FilterStats) -> Result<i64, StreamError> {
    result.clear();
    serde_json::to_writer(&mut *result, stats).map_err(|error| StreamError::Stats(error.to_string()))?;
    Ok(result.len() as i64)
}
