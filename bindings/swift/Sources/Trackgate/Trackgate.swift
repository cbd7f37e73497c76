import Foundation

/// The Swift entry point to trackgate: decides, on the device and before upload, which analytics
/// events may leave it.
///
/// Create one `Trackgate` per app and environment at launch and share it between threads. It
/// wraps the generated ``Gate`` (the Rust library's object) and adds only Swift idiom:
///
/// - ``track(_:sizeBytes:)`` decides one event by name. Behind it, a name→id cache lets repeated
///   names take the library's faster id path; when a new plan makes cached ids stale, the name is
///   resolved again, so callers never see ``GateError/StaleEventId(message:)``. Names that were
///   unregistered or invalid are remembered as "decide by name" (always right, a little slower)
///   until a plan is installed through this object or a cached id goes stale. Resolving and
///   deciding go through the library's scalar C functions (``ScalarPath``: one number back
///   instead of a `RustBuffer`), the generated calls only if the gate holds no scalar token.
/// - ``trackAll(_:)`` decides many events in one call into the library.
/// - ``takeReport()``, ``status``, ``apply(plan:)``, ``refreshNow()``, ``onForeground()`` and
///   ``fetchIfDue()`` forward to the gate.
///
/// Every rule (plans, sampling, rate limits, accounting, plan verification) lives in the Rust
/// library; nothing here changes a decision. A decision from `track` is exactly what
/// `gate.decide(name:sizeBytes:)` returns, and each call is counted once in the drop report.
///
/// Threading: decisions never block on the network or on other decisions beyond a short lock
/// around the id cache. The fetch calls block for as long as the ``HttpTransport`` takes: call
/// them off the main thread.
///
/// ```swift
/// let gate = try Trackgate(
///     app: "shop", env: "prod",
///     trustedKeys: [publisherKeyHex],
///     storeDirectory: applicationSupport.appendingPathComponent("trackgate"),
///     failPolicy: .keepP0Only,
///     bundledPlan: bundledEnvelope,
///     planURL: URL(string: "https://plans.example.com/v1/plans/shop/prod"),
///     transport: URLSessionTransport())
/// if gate.track("checkout.completed", sizeBytes: payload.count).isKept {
///     upload(payload)
/// }
/// ```
public final class Trackgate: @unchecked Sendable {
    // @unchecked: `ids` is only touched with `lock` held; `gate` is itself Sendable.

    /// One event for ``Trackgate/trackAll(_:)``: its name and the size of its encoded payload.
    public struct Event: Hashable, Sendable {
        /// The event name, as registered in the plan (for example `checkout.completed`).
        public var name: String
        /// The size of the event's encoded payload in bytes (negative sizes count as 0).
        public var sizeBytes: Int

        /// An event named `name` whose encoded payload is `sizeBytes` long.
        public init(_ name: String, sizeBytes: Int) {
            self.name = name
            self.sizeBytes = sizeBytes
        }
    }

    /// How many distinct names ``track(_:sizeBytes:)`` remembers by default. Apps have tens to
    /// hundreds of event names; the bound only matters for apps that build names dynamically.
    public static let defaultIdCacheCapacity = 4096

    /// The generated gate this object wraps, for calls it does not cover (`resolve`,
    /// `decideId`, `decideIds`, `setUnitId`...).
    public let gate: Gate

    private enum CachedName {
        /// Resolved against the plan that was active then.
        case id(UInt64)
        /// Unregistered or invalid when last resolved: decided by name.
        case byName
    }

    private let idCacheCapacity: Int
    /// The gate's token for the scalar C functions (``ScalarPath``); `nil` when 64 gates hold one.
    private let scalarToken: UInt64?
    private let lock = NSLock()
    private var ids: [String: CachedName] = [:]

    /// Starts the gate from `options` without touching the network: the verified cached plan,
    /// else the bundled plan, else the fail policy.
    ///
    /// - Parameters:
    ///   - options: The generated options record, as `Gate(options:)` takes it.
    ///   - idCacheCapacity: How many distinct names ``track(_:sizeBytes:)`` remembers; names
    ///     beyond it are decided by name (same decision, a little slower). 0 turns the cache off.
    /// - Throws: ``GateError/InvalidOptions(message:)`` naming the unusable field. Problems with
    ///   the cache or the bundled plan do not throw; they show in ``status``'s `lastError`.
    public init(options: GateOptions, idCacheCapacity: Int = Trackgate.defaultIdCacheCapacity) throws {
        gate = try Gate(options: options)
        self.idCacheCapacity = max(0, idCacheCapacity)
        scalarToken = gate.scalarToken()
    }

    /// Starts the gate without touching the network, with Swift-typed options.
    ///
    /// - Parameters:
    ///   - app: The application this device runs; plans signed for another app are refused.
    ///   - env: The environment (`prod`, `staging`, ...).
    ///   - trustedKeys: Publisher public keys as 64 hex digits (the `public.hex` file of
    ///     `trackgate keygen`); several during a key rotation, at least one.
    ///   - storeDirectory: A file URL of a directory private to the app (for example under
    ///     Application Support, excluded from backups) where the verified plan and the delivery
    ///     state are kept; created if missing.
    ///   - failPolicy: What runs when no verified plan is available.
    ///   - bundledPlan: The signed plan envelope shipped inside the app, if any.
    ///   - unitId: The sampling unit (install id or user id). `nil` generates a random install
    ///     id: read ``unitId`` and persist it.
    ///   - planURL: Where plans are fetched from, usually `{base}/v1/plans/{app}/{env}`.
    ///     Required with a transport.
    ///   - transport: The HTTP client for plan fetches, for example ``URLSessionTransport``.
    ///     Without one, plans arrive only through ``apply(plan:)``.
    ///   - idCacheCapacity: See ``init(options:idCacheCapacity:)``.
    ///   - signaturePolicy: Keys with roles and per-role thresholds (and revoked keys), instead
    ///     of `trustedKeys` (then empty): a plan is accepted only when enough distinct keys of
    ///     every required role signed it.
    ///   - rolloutSalt: The app's public rollout salt (by convention `"app/env"`): plan requests
    ///     then carry the device's rollout bucket, so staged releases reach their share of
    ///     devices. `nil`: the device gets a release only once it reaches 100 %.
    ///   - refreshNowMinGapSeconds: The shortest gap between ``refreshNow()`` requests, 1 to
    ///     3600 seconds; `nil` keeps the default minute (keep it in apps; tools and demos
    ///     shorten it).
    ///   - strict: Strict start, for development and tests: a refused bundled plan throws
    ///     ``GateError/BundledPlanRefused(message:)`` naming the check (bad magic, unknown key,
    ///     wrong scope, ...) and a store problem ``GateError/StoreProblem(message:)``, instead of
    ///     starting on the fail policy. Keep it off in production, where the gate always starts.
    ///   - logger: The app's log sink for delivery events (``DeliveryLogger``), called on the
    ///     thread of the gate call with no gate lock held.
    /// - Throws: ``GateError/InvalidOptions(message:)`` naming the unusable field; with
    ///   `strict`, also the refusals above.
    public convenience init(
        app: String,
        env: String,
        trustedKeys: [String],
        storeDirectory: URL,
        failPolicy: FailPolicy,
        bundledPlan: Data? = nil,
        unitId: String? = nil,
        planURL: URL? = nil,
        transport: HttpTransport? = nil,
        idCacheCapacity: Int = Trackgate.defaultIdCacheCapacity,
        signaturePolicy: SignaturePolicy? = nil,
        rolloutSalt: String? = nil,
        refreshNowMinGapSeconds: UInt32? = nil,
        strict: Bool = false,
        logger: DeliveryLogger? = nil
    ) throws {
        let options = GateOptions(
            app: app,
            env: env,
            trustedKeys: trustedKeys.map { TrustedKey.hex(text: $0) },
            storeDirectory: storeDirectory.path,
            failPolicy: failPolicy,
            bundledPlan: bundledPlan,
            unitId: unitId,
            planUrl: planURL?.absoluteString,
            transport: transport,
            signaturePolicy: signaturePolicy,
            rolloutSalt: rolloutSalt,
            refreshNowMinGapSeconds: refreshNowMinGapSeconds,
            strict: strict,
            logger: logger
        )
        try self.init(options: options, idCacheCapacity: idCacheCapacity)
    }

    // MARK: Decisions

    /// Decides one event.
    ///
    /// Never fails: an invalid or unregistered name is a decision too (a drop, or a keep if the
    /// plan keeps unregistered events) and is counted in the report like every other call.
    ///
    /// - Parameters:
    ///   - name: The event name.
    ///   - sizeBytes: The size of its encoded payload in bytes (negative sizes count as 0).
    /// - Returns: ``Decision/keep(weight:)`` to send it (with its sampling weight), or
    ///   ``Decision/drop(reason:)`` with the first rule that refused it.
    public func track(_ name: String, sizeBytes: Int) -> Decision {
        let size = Self.size(sizeBytes)
        if let token = scalarToken, let decision = trackScalar(token, name, size) { return decision }
        // Two tries: a plan can be swapped in between resolving and deciding, and (rarely) once
        // more right after resolving again. Stale calls are not counted, so retrying never
        // counts an event twice; the by-name fallback is always right.
        for _ in 0..<2 {
            guard case .id(let id) = cachedName(name, resolve: resolveGenerated) else { break }
            do {
                return try gate.decideId(id: id, sizeBytes: size)
            } catch {
                // decideId only fails with StaleEventId: a newer plan is active, so every cached
                // id belongs to an older one.
                forgetIds()
            }
        }
        return gate.decide(name: name, sizeBytes: size)
    }

    /// Decides many events in one call into the library, in order; several times cheaper per
    /// event than ``track(_:sizeBytes:)`` (see `docs/performance.md`).
    ///
    /// Every event is decided and counted exactly as by ``track(_:sizeBytes:)``. The events
    /// cross the boundary packed into three byte arrays (`decideBatchPacked`), which Swift
    /// builds and UniFFI moves far faster than a list of strings.
    ///
    /// - Parameter events: The events, in the order they happened.
    /// - Returns: One decision per event, in the same order.
    public func trackAll(_ events: [Event]) -> [Decision] {
        guard !events.isEmpty else { return [] }
        let packed = PackedEvents(events)
        let batch: PackedBatchDecisions
        do {
            batch = try gate.decideBatchPacked(
                namesUtf8: packed.namesUTF8, nameLengthsLe: packed.nameLengthsLE, sizesLe: packed.sizesLE)
        } catch {
            // Refused only for a malformed packing, which PackedEvents cannot produce; nothing
            // was decided or counted, so deciding one by one is still right.
            assertionFailure("decideBatchPacked refused a batch: \(error)")
            return events.map { gate.decide(name: $0.name, sizeBytes: Self.size($0.sizeBytes)) }
        }
        // The packed name call never returns the stale code (that is for ids); should it, nothing
        // was decided for that event, so nothing may be sent.
        return batch.decisions.map { $0 ?? .drop(reason: .unregistered) }
    }

    // MARK: Accounting and status

    /// Reads and resets the counts since the last report: every decision appears in exactly one
    /// report. Upload the report's `json`.
    public func takeReport() -> TakenReport {
        gate.takeReport()
    }

    /// What is active (source, version, expiry) and how plan delivery is going (last error,
    /// failures, next fetch).
    public var status: GateStatus {
        gate.status()
    }

    /// Why `track(name, sizeBytes:)` would answer what it does now: the decision and the values
    /// behind it (plan version, the refusing rule, cap and size, sampling rate and this unit's
    /// sampling value, tokens left). Counts nothing and takes no rate-limit token.
    public func explain(_ name: String, sizeBytes: Int) -> Explanation {
        gate.explain(name: name, sizeBytes: Trackgate.size(sizeBytes))
    }

    /// ``explain(_:sizeBytes:)`` as readable lines, the text `trackgate explain` prints.
    public func explainText(_ name: String, sizeBytes: Int) -> String {
        gate.explainText(name: name, sizeBytes: Trackgate.size(sizeBytes))
    }

    /// The sampling unit in use; persist it if the gate generated it, and pass it back as
    /// `unitId` at the next launch so the device stays in or out of each sample.
    public var unitId: String {
        gate.unitId()
    }

    /// Changes the sampling unit (for example when a user logs in); later decisions use it.
    ///
    /// - Throws: ``GateError/InvalidArgument(message:)`` for an empty id or one longer than
    ///   4096 bytes.
    public func setUnitId(_ unitId: String) throws {
        try gate.setUnitId(unitId: unitId)
    }

    // MARK: Plan delivery

    /// Verifies a signed plan envelope received by any channel (push, bundled update...),
    /// persists it and makes it active for every thread at once. A refused plan changes nothing:
    /// the active plan stays, and the reason is in the outcome and in ``status``'s `lastError`.
    ///
    /// - Parameter envelope: The envelope's bytes, as `trackgate build` wrote them.
    /// - Returns: What happened; refusals are outcomes, not errors.
    @discardableResult
    public func apply(plan envelope: Data) -> ApplyOutcome {
        let outcome = gate.applyPlan(envelope: envelope)
        if case .installed = outcome { forgetIds() }
        return outcome
    }

    /// Asks for a plan fetch now and performs it on the calling thread if the schedule allows
    /// (at least a minute after the previous request, never during a backoff).
    ///
    /// Blocks for as long as the transport takes; call it off the main thread.
    /// - Returns: What the fetch did, or ``FetchResult/notDue(nextFetchUnix:)``.
    /// - Throws: ``GateError/NoTransport(message:)`` when the gate was built without a transport.
    @discardableResult
    public func refreshNow() throws -> FetchResult {
        try afterFetch(gate.refreshNow())
    }

    /// Tells the gate the app came to the foreground: fetches on the calling thread if the
    /// previous request is at least 15 minutes old (never during a backoff).
    ///
    /// Blocks for as long as the transport takes; call it off the main thread.
    /// - Throws: ``GateError/NoTransport(message:)`` when the gate was built without a transport.
    @discardableResult
    public func onForeground() throws -> FetchResult {
        try afterFetch(gate.onForeground())
    }

    /// Fetches on the calling thread if a fetch is due (refresh interval, backoff and hourly
    /// budget all allow it). Call it periodically, for example when ``status``'s
    /// `nextFetchUnix` has passed.
    ///
    /// Blocks for as long as the transport takes; call it off the main thread.
    /// - Throws: ``GateError/NoTransport(message:)`` when the gate was built without a transport.
    @discardableResult
    public func fetchIfDue() throws -> FetchResult {
        try afterFetch(gate.fetchIfDue())
    }

    // MARK: Internals

    static func size(_ sizeBytes: Int) -> UInt64 {
        UInt64(max(0, sizeBytes))
    }

    private func afterFetch(_ result: FetchResult) -> FetchResult {
        if case .installed = result { forgetIds() }
        return result
    }

    /// ``track(_:sizeBytes:)`` through the scalar C functions only (same decisions, stale-id
    /// handling and counts as the generated path below it), or `nil` when they decided nothing
    /// (the token belongs to no open gate).
    private func trackScalar(_ token: UInt64, _ name: String, _ size: UInt64) -> Decision? {
        for _ in 0..<2 {
            guard case .id(let id) = cachedName(name, resolve: { name in
                let id = ScalarPath.resolve(token, name)
                return id == ScalarPath.noId ? .byName : .id(id)
            }) else { break }
            let encoded = ScalarPath.decideId(token, id, size)
            if encoded != ScalarPath.stale { return ScalarPath.decode(encoded) }
            // A newer plan is active: every cached id belongs to an older one.
            forgetIds()
        }
        return ScalarPath.decode(ScalarPath.decideName(token, name, size))
    }

    /// `name` resolved by the generated call.
    private func resolveGenerated(_ name: String) -> CachedName {
        do {
            return .id(try gate.resolve(name: name))
        } catch {
            // Unregistered or InvalidName: deciding by name applies the plan's rule for it.
            return .byName
        }
    }

    /// The cached resolution of `name`, resolving (outside the lock) and caching it if new.
    private func cachedName(_ name: String, resolve: (String) -> CachedName) -> CachedName {
        lock.lock()
        let cached = ids[name]
        lock.unlock()
        if let cached { return cached }

        let resolved = resolve(name)
        lock.lock()
        if ids.count < idCacheCapacity { ids[name] = resolved }
        lock.unlock()
        return resolved
    }

    /// The id cached for `name`, if any (for tests: `@testable import Trackgate`).
    func cachedId(_ name: String) -> UInt64? {
        lock.lock()
        defer { lock.unlock() }
        if case .id(let id) = ids[name] { return id }
        return nil
    }

    /// Forgets every cached resolution: a new plan is active.
    private func forgetIds() {
        lock.lock()
        ids.removeAll(keepingCapacity: true)
        lock.unlock()
    }
}
