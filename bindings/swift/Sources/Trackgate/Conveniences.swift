import Foundation

// Swift conveniences on the generated types. They only read what the library returned; the
// meaning of every value is defined in Rust (docs/plan.md).

extension Decision {
    /// Whether the event may be sent.
    public var isKept: Bool {
        if case .keep = self { return true }
        return false
    }

    /// The sampling weight of a kept event (the inverse of its sampling probability, 1.0 when
    /// not sampled); `nil` for a dropped event. The sum of the weights of the kept events
    /// estimates how many happened.
    public var weight: Double? {
        if case .keep(let weight) = self { return weight }
        return nil
    }

    /// The first rule that refused the event; `nil` for a kept event.
    public var dropReason: DropReason? {
        if case .drop(let reason) = self { return reason }
        return nil
    }
}

extension DropReason {
    /// The reason's code in ``BatchDecisions/codes`` (1...8, in evaluation order; stable across
    /// versions).
    public var code: UInt8 {
        dropReasonCode(reason: self)
    }
}

extension BatchDecisions {
    /// Drop reasons by batch code, read once from the library so the table cannot drift from it.
    static let reasonsByCode: [DropReason?] = (0...255).map { dropReasonFromCode(code: UInt8($0)) }

    /// Code of a kept event in ``codes``.
    public static let keptCode: UInt8 = 0

    /// Code of a stale event id in ``codes`` (`decideIds` only): the event was neither decided
    /// nor counted; resolve its name again.
    public static let staleCode: UInt8 = 255

    /// One decision per event, in input order; `nil` marks a stale id (``staleCode``), which
    /// only `decideIds` returns: that event was neither decided nor counted.
    public var decisions: [Decision?] {
        zip(codes, weights).map { code, weight in
            if code == Self.keptCode { return .keep(weight: weight) }
            guard let reason = Self.reasonsByCode[Int(code)] else { return nil }
            return .drop(reason: reason)
        }
    }
}

extension GateError {
    /// The library's message, which starts with the call that failed and names the argument or
    /// field (for example `resolve("typo.evnt"): event is not registered in the active plan`).
    public var message: String {
        switch self {
        case .InvalidOptions(let message), .InvalidArgument(let message), .InvalidName(let message),
            .Unregistered(let message), .StaleEventId(let message), .NoTransport(let message),
            .BundledPlanRefused(let message), .StoreProblem(let message):
            return message
        }
    }
}

extension TransportError {
    /// ``TransportError/Protocol(reason:)``, spelled so Swift accepts it anywhere:
    /// `TransportError.Protocol` reads as the metatype of a protocol and does not compile, so
    /// outside a context typed `TransportError` (where `.Protocol(reason:)` works) use this.
    ///
    /// - Parameter reason: Details for logs.
    public static func protocolFailure(_ reason: String) -> TransportError {
        .Protocol(reason: reason)
    }

    /// The transport's details, for logs.
    public var reason: String {
        switch self {
        case .Connect(let reason), .Timeout(let reason), .BodyTooLarge(let reason), .Protocol(let reason):
            return reason
        }
    }
}
