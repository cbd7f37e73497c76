import TrackgateScalarFFI

/// The scalar fast path: the library's plain C functions (`trackgate_decide_id_scalar`,
/// `trackgate_decide_name_scalar`, `trackgate_resolve_scalar`, declared in
/// `Sources/TrackgateScalarFFI`), which ``Trackgate/track(_:sizeBytes:)`` calls instead of the
/// generated `decideId`, `decide` and `resolve`.
///
/// A generated call returns a `Decision` in a `RustBuffer` that Swift wraps in `Data`, reads and
/// frees with a second call (about 0.65 µs, `docs/performance.md`); these return one number.
/// Each makes the same engine call as its generated twin, so decisions and counts are the same.
/// Names cross as a pointer to the string's own UTF-8 storage (no copy for native strings).
enum ScalarPath {
    /// The id belonged to an older plan: nothing was decided or counted.
    static let stale: Double = -255
    /// The highest of the codes that decided nothing (-254 unknown token, -253 panic, -252 bad name).
    static let undecided: Double = -252
    /// What ``resolve(_:_:)`` returns for a name without an id: decide it by name.
    static let noId: UInt64 = 0

    static func decideId(_ token: UInt64, _ id: UInt64, _ sizeBytes: UInt64) -> Double {
        trackgate_decide_id_scalar(token, id, sizeBytes)
    }

    static func decideName(_ token: UInt64, _ name: String, _ sizeBytes: UInt64) -> Double {
        var name = name
        return name.withUTF8 { bytes in
            trackgate_decide_name_scalar(token, bytes.baseAddress, UInt64(bytes.count), sizeBytes)
        }
    }

    static func resolve(_ token: UInt64, _ name: String) -> UInt64 {
        var name = name
        return name.withUTF8 { bytes in trackgate_resolve_scalar(token, bytes.baseAddress, UInt64(bytes.count)) }
    }

    /// The decision `encoded` stands for, or `nil` when nothing was decided (unknown token,
    /// panic); the caller checks ``stale`` first.
    static func decode(_ encoded: Double) -> Decision? {
        if encoded >= 0 { return .keep(weight: encoded) }
        guard encoded > undecided, let reason = BatchDecisions.reasonsByCode[Int(-encoded)] else { return nil }
        return .drop(reason: reason)
    }
}
