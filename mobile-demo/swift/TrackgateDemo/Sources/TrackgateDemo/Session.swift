import Foundation

/// One analytics event as the app records it, before the gate decides it.
struct AnalyticsEvent: Encodable {
    let event: String
    let installId: String
    let platform = "swift"
    let phase: Int
    let seq: Int
    let timestampMs: UInt64
    let properties: [String: String]

    enum CodingKeys: String, CodingKey {
        case event, installId = "install_id", platform, phase, seq, timestampMs = "ts_ms", properties
    }

    /// The encoded payload, as the app would upload it; its length is the size the gate checks.
    func payload() -> Data {
        (try? Self.encoder.encode(self)) ?? Data()
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
}

/// A simulated user session: what a shopping app's analytics code records while someone browses,
/// searches, uploads a review photo and (sometimes) checks out. Deterministic: the same phase
/// gives the same events on every run and every machine, so demo output can be compared.
///
/// The names are the demo's event catalog (README.md); the operator's plans decide what leaves.
/// Besides registered names, the session sends an unregistered name (`debug.trace`) and an
/// invalid one (`Promo Clicked`), as real apps do by mistake.
struct Session {
    let phase: Int
    let installId: String

    func events(startingAt clock: UInt64) -> [AnalyticsEvent] {
        var random = SplitMix64(seed: UInt64(phase) &* 0x9E37_79B9_7F4A_7C15)
        var recorded: [AnalyticsEvent] = []
        func record(_ name: String, _ properties: [String: String] = [:]) {
            recorded.append(
                AnalyticsEvent(
                    event: name, installId: installId, phase: phase, seq: recorded.count,
                    timestampMs: clock + UInt64(recorded.count) * 750, properties: properties))
        }

        record("app.opened", ["cold_start": phase == 1 ? "true" : "false"])
        let screens = ["home", "search", "product", "cart", "profile"]
        for step in 0..<36 {
            let screen = screens[random.below(screens.count)]
            record("screen.viewed", ["screen": screen])
            switch random.below(10) {
            case 0, 1:
                record("search.typed", ["query": String(repeating: "q", count: 1 + random.below(12))])
            case 2, 3:
                record("product.viewed", ["product_id": "p-\(random.below(500))"])
                record("scroll.depth", ["percent": String(25 * (1 + random.below(4)))])
            case 4:
                record("cart.added", ["product_id": "p-\(random.below(500))", "quantity": String(1 + random.below(3))])
            case 5:
                // A review photo: its inline thumbnail makes some uploads large.
                record("photo.uploaded", ["thumbnail": String(repeating: "A", count: 200 + random.below(1600))])
            case 6:
                record("legacy.banner_seen", ["slot": "top"])
            case 7:
                record("debug.trace", ["step": String(step)])
            case 8:
                record("Promo Clicked", ["campaign": "autumn"])
            default:
                record("checkout.started", ["items": String(1 + random.below(4))])
                if random.below(2) == 0 {
                    record("checkout.completed", ["order_id": "o-\(phase)-\(step)", "total_cents": String(random.below(20_000))])
                }
            }
        }
        return recorded
    }
}

/// SplitMix64: a tiny deterministic generator (not for sampling: the gate owns sampling).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A value in `0..<bound`.
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}
