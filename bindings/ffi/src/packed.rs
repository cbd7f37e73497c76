//! The packed batch format: whole batches as byte arrays, for bindings whose list marshalling
//! is slow.
//!
//! UniFFI moves a `Vec<u8>` with one copy, but a `Vec<String>` or `Vec<u64>` element by
//! element; in the Python bindings that per-element encoding costs about 5 µs per event, a
//! hundred times the decision itself (`docs/performance.md`). The packed calls take:
//! - `names_utf8`: the names' UTF-8 bytes, concatenated;
//! - `name_lengths_le`: each name's length in bytes, as a little-endian `u32`;
//! - `ids_le`, `sizes_le`: little-endian `u64`s, one per event;
//!
//! and return the codes (as [`crate::BatchDecisions`]) and the weights as little-endian IEEE 754
//! doubles. Every input is checked before anything is decided, so a malformed batch is an error
//! that decides and counts nothing. Parsing borrows the input and allocates only the outputs;
//! it never panics (no indexing, only checked slicing).

use crate::error::GateError;

/// Bytes per name length.
const LENGTH_BYTES: usize = 4;
/// Bytes per id, size and weight.
const WORD_BYTES: usize = 8;

/// Decisions of one packed batch call, in input order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PackedBatchDecisions {
    /// One code per event, as in `BatchDecisions.codes`: 0 kept, 1..=8 the drop reason's code,
    /// 255 stale id.
    pub codes: Vec<u8>,
    /// Eight bytes per event: its weight as a little-endian IEEE 754 double (1.0 for an
    /// unsampled kept event, 0.0 for dropped and stale ones). Python: `array("d", weights_le)`
    /// on a little-endian machine.
    pub weights_le: Vec<u8>,
}

impl PackedBatchDecisions {
    pub(crate) fn with_capacity(events: usize) -> PackedBatchDecisions {
        PackedBatchDecisions {
            codes: Vec::with_capacity(events),
            weights_le: Vec::with_capacity(events.saturating_mul(WORD_BYTES)),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, (code, weight): (u8, f64)) {
        self.codes.push(code);
        self.weights_le.extend_from_slice(&weight.to_le_bytes());
    }
}

fn invalid(call: &'static str, problem: String) -> GateError {
    GateError::InvalidArgument { call, problem }
}

/// The little-endian `u64`s of `bytes`, which must be a whole number of them.
pub(crate) fn words<'bytes>(
    call: &'static str,
    argument: &str,
    bytes: &'bytes [u8],
) -> Result<impl Iterator<Item = u64> + 'bytes, GateError> {
    if bytes.len() % WORD_BYTES != 0 {
        return Err(invalid(call, format!("{argument} is {} bytes, not a multiple of 8", bytes.len())));
    }
    Ok(bytes.chunks_exact(WORD_BYTES).map(|chunk| {
        let mut word = [0; WORD_BYTES];
        word.copy_from_slice(chunk);
        u64::from_le_bytes(word)
    }))
}

/// The events of a packed name batch: each name (or `None` for bytes that are not UTF-8) and
/// its size. Checks that the three arrays describe the same number of events and that the
/// lengths add up to exactly `names_utf8`.
pub(crate) fn named_events<'bytes>(
    call: &'static str,
    names_utf8: &'bytes [u8],
    name_lengths_le: &'bytes [u8],
    sizes_le: &'bytes [u8],
) -> Result<Vec<(Option<&'bytes str>, u64)>, GateError> {
    if name_lengths_le.len() % LENGTH_BYTES != 0 {
        return Err(invalid(call, format!("name_lengths_le is {} bytes, not a multiple of 4", name_lengths_le.len())));
    }
    let count = name_lengths_le.len() / LENGTH_BYTES;
    let sizes = words(call, "sizes_le", sizes_le)?;
    if sizes_le.len() / WORD_BYTES != count {
        return Err(invalid(
            call,
            format!("{count} name lengths but {} sizes; pass one size per event", sizes_le.len() / WORD_BYTES),
        ));
    }
    let mut events = Vec::with_capacity(count);
    let mut offset = 0usize;
    for (chunk, size) in name_lengths_le.chunks_exact(LENGTH_BYTES).zip(sizes) {
        let mut length = [0; LENGTH_BYTES];
        length.copy_from_slice(chunk);
        let length = u32::from_le_bytes(length) as usize;
        let name = offset.checked_add(length).and_then(|end| names_utf8.get(offset..end)).ok_or_else(|| {
            invalid(
                call,
                format!(
                    "name {} needs bytes {offset}..{} but names_utf8 has {}",
                    events.len(),
                    offset.saturating_add(length),
                    names_utf8.len()
                ),
            )
        })?;
        offset += length;
        events.push((std::str::from_utf8(name).ok(), size));
    }
    if offset != names_utf8.len() {
        return Err(invalid(
            call,
            format!("the name lengths add up to {offset} bytes but names_utf8 has {}", names_utf8.len()),
        ));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(names: &[&str], sizes: &[u64]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let utf8 = names.concat().into_bytes();
        let lengths = names.iter().flat_map(|name| (name.len() as u32).to_le_bytes()).collect();
        let sizes = sizes.iter().flat_map(|size| size.to_le_bytes()).collect();
        (utf8, lengths, sizes)
    }

    #[test]
    fn names_and_sizes_unpack_in_order() {
        let (utf8, lengths, sizes) = pack(&["a.b", "", "é.x", "c"], &[1, 2, u64::MAX, 4]);
        let events = named_events("t", &utf8, &lengths, &sizes).unwrap();
        assert_eq!(events, [(Some("a.b"), 1), (Some(""), 2), (Some("é.x"), u64::MAX), (Some("c"), 4)]);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_a_name_of_none() {
        let events = named_events("t", &[0xff, b'a'], &[1, 0, 0, 0, 1, 0, 0, 0], &[0; 16]).unwrap();
        assert_eq!(events, [(None, 0), (Some("a"), 0)]);
    }

    #[test]
    fn malformed_batches_are_refused_with_the_reason() {
        let refuse = |utf8: &[u8], lengths: &[u8], sizes: &[u8]| {
            named_events("decide_batch_packed", utf8, lengths, sizes).unwrap_err().to_string()
        };
        assert_eq!(refuse(b"", &[0; 3], &[]), "decide_batch_packed: name_lengths_le is 3 bytes, not a multiple of 4");
        assert_eq!(refuse(b"", &[0; 4], &[0; 9]), "decide_batch_packed: sizes_le is 9 bytes, not a multiple of 8");
        assert_eq!(
            refuse(b"", &[0; 8], &[0; 8]),
            "decide_batch_packed: 2 name lengths but 1 sizes; pass one size per event"
        );
        assert_eq!(
            refuse(b"ab", &[3, 0, 0, 0], &[0; 8]),
            "decide_batch_packed: name 0 needs bytes 0..3 but names_utf8 has 2"
        );
        assert_eq!(
            refuse(b"ab", &[0xff; 4], &[0; 8]),
            "decide_batch_packed: name 0 needs bytes 0..4294967295 but names_utf8 has 2"
        );
        assert_eq!(
            refuse(b"abc", &[1, 0, 0, 0], &[0; 8]),
            "decide_batch_packed: the name lengths add up to 1 bytes but names_utf8 has 3"
        );
    }
}
