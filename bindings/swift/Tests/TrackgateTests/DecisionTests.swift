import Foundation
import XCTest

@testable import Trackgate

/// Single and batch decisions through `Trackgate`: every drop reason, weights, the name→id cache
/// across plan swaps, and the batch call.
final class DecisionTests: XCTestCase {
    private let keep = Decision.keep(weight: 1.0)

    func testEachRuleGivesItsOwnReason() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("reasons")
        let gate = try trackgate(publisher, store: store)

        XCTAssertEqual(gate.track("checkout.completed", sizeBytes: 100), keep)
        XCTAssertEqual(gate.track("legacy.banner_seen", sizeBytes: 100), .drop(reason: .retired))
        XCTAssertEqual(gate.track("photo.uploaded", sizeBytes: 1000), keep)
        XCTAssertEqual(gate.track("photo.uploaded", sizeBytes: 1001), .drop(reason: .oversize))
        XCTAssertEqual(gate.track("scroll.depth", sizeBytes: 10), .drop(reason: .sampledOut))
        XCTAssertEqual(gate.track("search.typed", sizeBytes: 10), keep)
        XCTAssertEqual(gate.track("search.typed", sizeBytes: 10), .drop(reason: .rateLimited))
        XCTAssertEqual(gate.track("typo.evnt", sizeBytes: 10), .drop(reason: .unregistered))
        XCTAssertEqual(gate.track("has space", sizeBytes: 10), .drop(reason: .invalidName))
        XCTAssertEqual(gate.track("", sizeBytes: 10), .drop(reason: .invalidName))
        XCTAssertEqual(gate.track(String(repeating: "x", count: 129), sizeBytes: 10), .drop(reason: .invalidName))
        // A negative size is taken as 0, never as a huge unsigned number.
        XCTAssertEqual(gate.track("photo.uploaded", sizeBytes: -1), keep)
        // Names seen before come from the id cache and decide the same way.
        XCTAssertEqual(gate.track("legacy.banner_seen", sizeBytes: 100), .drop(reason: .retired))
        XCTAssertEqual(gate.track("typo.evnt", sizeBytes: 10), .drop(reason: .unregistered))
    }

    func testShedAndDisabledPlans() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("shed")
        let shed = plan(#""shed_below": "P1","#, events: #""a.p0": {"priority": "P0"}, "a.p2": {"priority": "P2"}"#)
        let gate = try trackgate(publisher, store: store, planJSON: shed, version: 4)
        XCTAssertEqual(gate.track("a.p0", sizeBytes: 1), keep)
        XCTAssertEqual(gate.track("a.p2", sizeBytes: 1), .drop(reason: .shed))

        let disabled = plan(#""enabled": false,"#, events: #""a.p0": {"priority": "P0"}"#)
        XCTAssertEqual(
            gate.apply(plan: try publisher.seal(disabled, version: 5)), .installed(previousVersion: 4, version: 5))
        XCTAssertEqual(gate.track("a.p0", sizeBytes: 1), .drop(reason: .disabled))
        // The kill switch comes first, before any name check.
        XCTAssertEqual(gate.track("bad name", sizeBytes: 1), .drop(reason: .disabled))
    }

    func testASampledEventKeptForThisUnitCarriesItsWeight() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("weight")
        let unit = try XCTUnwrap(
            (0..<1000).map { "unit-\($0)" }.first {
                samplingIsKept(randomValue: samplingRandomValue(salt: "w", unitId: $0), ratePpm: 250_000)
            })
        let sampled = plan(#""sampling_salt": "w","#, events: #""feed.viewed": {"priority": "P2", "sample": 0.25}"#)
        var gateOptions = options(publisher, store: store, bundled: try publisher.seal(sampled, version: 3))
        gateOptions.unitId = unit
        let gate = try Trackgate(options: gateOptions)
        let decision = gate.track("feed.viewed", sizeBytes: 1)
        XCTAssertEqual(decision, .keep(weight: 4.0))
        XCTAssertEqual(decision.weight, 4.0)
        XCTAssertEqual(gate.unitId, unit)
    }

    func testTrackDecidesExactlyAsTheGateDoes() throws {
        let publisher = try Publisher()
        let (storeA, storeB) = (try TemporaryDirectory("same-a"), try TemporaryDirectory("same-b"))
        let wrapped = try trackgate(publisher, store: storeA)
        let raw = try trackgate(publisher, store: storeB).gate
        let names = [
            "checkout.completed", "legacy.banner_seen", "photo.uploaded", "scroll.depth", "search.typed", "typo.evnt",
            "bad name",
        ]
        for round in 0..<3 {
            for (index, name) in names.enumerated() {
                let size = 400 * (index + round)
                XCTAssertEqual(
                    wrapped.track(name, sizeBytes: size), raw.decide(name: name, sizeBytes: UInt64(size)),
                    "\(name), size \(size), round \(round)")
            }
        }
        XCTAssertEqual(wrapped.takeReport().report.offered, UInt64(3 * names.count))
    }

    func testTrackAllDecidesInOrderAsTrackDoes() throws {
        let publisher = try Publisher()
        let (storeA, storeB) = (try TemporaryDirectory("batch-a"), try TemporaryDirectory("batch-b"))
        let batched = try trackgate(publisher, store: storeA)
        let single = try trackgate(publisher, store: storeB)
        let events = [
            Trackgate.Event("checkout.completed", sizeBytes: 10), Trackgate.Event("legacy.banner_seen", sizeBytes: 10),
            Trackgate.Event("photo.uploaded", sizeBytes: 5000), Trackgate.Event("photo.uploaded", sizeBytes: 5),
            Trackgate.Event("scroll.depth", sizeBytes: 10), Trackgate.Event("search.typed", sizeBytes: 10),
            Trackgate.Event("search.typed", sizeBytes: 10), Trackgate.Event("typo.evnt", sizeBytes: 10),
            Trackgate.Event("bad name", sizeBytes: 10), Trackgate.Event("checkout.completed", sizeBytes: -5),
            // Packing edge cases: empty, multi-byte UTF-8, too long, and the largest size (kept:
            // checkout.completed has no size cap).
            Trackgate.Event("", sizeBytes: 1), Trackgate.Event("café.opened", sizeBytes: 1),
            Trackgate.Event(String(repeating: "x", count: 129), sizeBytes: 1),
            Trackgate.Event("checkout.completed", sizeBytes: Int.max),
        ]
        let decisions = batched.trackAll(events)
        XCTAssertEqual(decisions, events.map { single.track($0.name, sizeBytes: $0.sizeBytes) })
        XCTAssertEqual(
            decisions.map(\.dropReason),
            [
                nil, .retired, .oversize, nil, .sampledOut, nil, .rateLimited, .unregistered, .invalidName, nil,
                .invalidName, .invalidName, .invalidName, nil,
            ])
        XCTAssertEqual(batched.trackAll([]), [])
        XCTAssertEqual(batched.takeReport().report.withoutWindow, single.takeReport().report.withoutWindow)
    }

    func testCachedIdsAreResolvedAgainWhenAPlanIsSwappedBehindTheWrapper() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("stale")
        let gate = try trackgate(publisher, store: store)
        XCTAssertEqual(gate.track("checkout.completed", sizeBytes: 1), keep)
        let oldId = try gate.gate.resolve(name: "checkout.completed")

        // Installed through the generated gate, so the wrapper's cache still holds v3 ids.
        let retiring = plan(events: #""checkout.completed": {"priority": "P1", "status": "retired"}"#)
        XCTAssertEqual(
            gate.gate.applyPlan(envelope: try publisher.seal(retiring, version: 4)),
            .installed(previousVersion: 3, version: 4))
        XCTAssertEqual(gate.cachedId("checkout.completed"), oldId)
        XCTAssertThrowsError(try gate.gate.decideId(id: oldId, sizeBytes: 1))
        XCTAssertEqual(gate.track("checkout.completed", sizeBytes: 1), .drop(reason: .retired))
        // The fresh id replaced the stale one, so the next call takes the id path at once.
        let freshId = try gate.gate.resolve(name: "checkout.completed")
        XCTAssertNotEqual(freshId, oldId)
        XCTAssertEqual(gate.cachedId("checkout.completed"), freshId)
        XCTAssertEqual(gate.track("checkout.completed", sizeBytes: 1), .drop(reason: .retired))

        // Names that were unregistered are decided by name, so they follow the new plan too.
        XCTAssertEqual(gate.track("typo.evnt", sizeBytes: 1), .drop(reason: .unregistered))
        let registering = plan(events: #""typo.evnt": {"priority": "P2"}"#)
        XCTAssertEqual(
            gate.gate.applyPlan(envelope: try publisher.seal(registering, version: 5)),
            .installed(previousVersion: 4, version: 5))
        XCTAssertEqual(gate.track("typo.evnt", sizeBytes: 1), keep)

        // Every call counted once: the stale attempts were not counted.
        let report = gate.takeReport().report
        XCTAssertEqual(report.offered, 5)
        XCTAssertEqual(report.kept, 2)
        XCTAssertEqual(report.dropped.retired, 2)
        XCTAssertEqual(report.dropped.unregistered, 1)

        // "typo.evnt" is still remembered as decided by name (right, if slower): no id went
        // stale to show the swap. A plan installed through the wrapper empties the cache, so
        // the name is resolved again and takes the id path.
        XCTAssertNil(gate.cachedId("typo.evnt"))
        gate.apply(plan: try publisher.seal(registering, version: 6))
        XCTAssertEqual(gate.track("typo.evnt", sizeBytes: 1), keep)
        XCTAssertEqual(gate.cachedId("typo.evnt"), try gate.gate.resolve(name: "typo.evnt"))
    }

    func testWithoutAnIdCacheDecisionsAreTheSame() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("no-cache")
        let gate = try Trackgate(
            options: options(publisher, store: store, bundled: try publisher.seal(standardPlan, version: 3)),
            idCacheCapacity: 0)
        XCTAssertEqual(gate.track("checkout.completed", sizeBytes: 1), keep)
        XCTAssertEqual(gate.track("legacy.banner_seen", sizeBytes: 1), .drop(reason: .retired))
        XCTAssertNil(gate.cachedId("checkout.completed"))
        XCTAssertEqual(gate.takeReport().report.offered, 2)
    }

    func testDecisionAndBatchConveniences() throws {
        XCTAssertTrue(Decision.keep(weight: 2).isKept)
        XCTAssertEqual(Decision.keep(weight: 2).weight, 2)
        XCTAssertNil(Decision.keep(weight: 2).dropReason)
        XCTAssertFalse(Decision.drop(reason: .shed).isKept)
        XCTAssertNil(Decision.drop(reason: .shed).weight)
        XCTAssertEqual(Decision.drop(reason: .shed).dropReason, .shed)

        let inOrder: [DropReason] = [
            .disabled, .invalidName, .unregistered, .retired, .shed, .oversize, .sampledOut, .rateLimited,
        ]
        XCTAssertEqual(inOrder.map(\.code), Array(1...8))

        let publisher = try Publisher()
        let store = try TemporaryDirectory("ids")
        let gate = try trackgate(publisher, store: store)
        let ids = try ["checkout.completed", "legacy.banner_seen"].map { try gate.gate.resolve(name: $0) }
        let batch = try gate.gate.decideIds(ids: ids + [42], sizes: [1, 1, 1])
        XCTAssertEqual(Array(batch.codes), [BatchDecisions.keptCode, DropReason.retired.code, BatchDecisions.staleCode])
        XCTAssertEqual(batch.decisions, [keep, .drop(reason: .retired), nil])

        // The packed twin, with the ids and sizes as little-endian words.
        let words = { (values: [UInt64]) in Data(values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }) }
        let packed = try gate.gate.decideIdsPacked(idsLe: words(ids + [42]), sizesLe: words([1, 1, 1]))
        XCTAssertEqual(packed.weights, [1, 0, 0])
        XCTAssertEqual(packed.decisions, [keep, .drop(reason: .retired), nil])
    }
}

extension DropReport {
    /// This report with its window times zeroed: reports of two gates differ in them by
    /// construction, and in nothing else when the gates saw the same events.
    var withoutWindow: DropReport {
        var copy = self
        copy.windowStartUnixMs = 0
        copy.windowEndUnixMs = 0
        return copy
    }
}
