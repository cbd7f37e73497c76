import Foundation

// The packed batch format of `Gate.decideBatchPacked` / `decideIdsPacked`: whole batches as byte
// arrays, which UniFFI moves with one copy each instead of element by element. The format is
// defined in Rust (bindings/ffi/src/packed.rs); this only writes and reads it.

/// A batch of events in the packed format: the names' UTF-8 bytes concatenated, each name's
/// length as a little-endian `UInt32`, and each size as a little-endian `UInt64`.
struct PackedEvents {
    let namesUTF8: Data
    let nameLengthsLE: Data
    let sizesLE: Data

    init(_ events: [Trackgate.Event]) {
        var names = [UInt8]()
        names.reserveCapacity(events.count * 32)
        var lengths = [UInt8](repeating: 0, count: events.count * 4)
        var sizes = [UInt8](repeating: 0, count: events.count * 8)
        lengths.withUnsafeMutableBytes { lengthBytes in
            sizes.withUnsafeMutableBytes { sizeBytes in
                for (index, event) in events.enumerated() {
                    let start = names.count
                    names.append(contentsOf: event.name.utf8)
                    // A name over 4 GiB cannot be described: its length is clamped, the lengths
                    // no longer add up, and the library refuses the whole batch.
                    let length = UInt32(clamping: names.count - start)
                    lengthBytes.storeBytes(of: length.littleEndian, toByteOffset: index * 4, as: UInt32.self)
                    sizeBytes.storeBytes(
                        of: Trackgate.size(event.sizeBytes).littleEndian, toByteOffset: index * 8, as: UInt64.self)
                }
            }
        }
        namesUTF8 = Data(names)
        nameLengthsLE = Data(lengths)
        sizesLE = Data(sizes)
    }
}

extension PackedBatchDecisions {
    /// The weights, decoded from ``weightsLe`` (little-endian IEEE 754 doubles, one per event).
    public var weights: [Double] {
        weightsLe.withUnsafeBytes { raw in
            (0..<raw.count / 8).map { index in
                Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)))
            }
        }
    }

    /// One decision per event, in input order; `nil` marks a stale id
    /// (``BatchDecisions/staleCode``), which only `decideIdsPacked` returns: that event was
    /// neither decided nor counted.
    public var decisions: [Decision?] {
        BatchDecisions(codes: codes, weights: weights).decisions
    }
}
