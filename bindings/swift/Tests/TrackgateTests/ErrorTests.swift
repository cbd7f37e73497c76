import Foundation
import XCTest

@testable import Trackgate

/// Every `GateError` case arrives in Swift as its own typed case with the library's message, and
/// transport failures thrown in Swift reach the gate as failed fetches.
final class ErrorTests: XCTestCase {
    func testUnusableOptionsNameTheField() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("options")
        let cases: [(String, GateOptions)] = [
            ("GateOptions.trusted_keys: no key given", {
                var bad = options(publisher, store: store)
                bad.trustedKeys = []
                return bad
            }()),
            ("GateOptions.trusted_keys[1]: ", {
                var bad = options(publisher, store: store)
                bad.trustedKeys.append(.hex(text: "abc"))
                return bad
            }()),
            ("GateOptions.trusted_keys[0]: ", {
                var bad = options(publisher, store: store)
                bad.trustedKeys = [.raw(bytes: Data(count: 31))]
                return bad
            }()),
            ("GateOptions.plan_url: required when a transport is given",
             options(publisher, store: store, transport: ScriptedTransport([]))),
            ("GateOptions.unit_id: ", options(publisher, store: store, unitId: "")),
            ("GateOptions.app/env: ", {
                var bad = options(publisher, store: store)
                bad.app = "not an app"
                return bad
            }()),
        ]
        for (expected, bad) in cases {
            guard let error = assertGateError(try Trackgate(options: bad)) else { continue }
            guard case .InvalidOptions(let message) = error else {
                XCTFail("expected InvalidOptions for \(expected), got \(error)")
                continue
            }
            XCTAssertTrue(message.hasPrefix("Gate(options): " + expected), message)
        }
    }

    func testResolveFailsWithTypedErrors() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("resolve")
        let gate = try trackgate(publisher, store: store).gate

        let unregistered = assertGateError(try gate.resolve(name: "typo.evnt"))
        XCTAssertEqual(unregistered, .Unregistered(message: #"resolve("typo.evnt"): event is not registered in the active plan"#))

        let invalid = try XCTUnwrap(assertGateError(try gate.resolve(name: "bad name")))
        guard case .InvalidName(let message) = invalid else { return XCTFail("expected InvalidName, got \(invalid)") }
        XCTAssertTrue(message.hasPrefix(#"resolve("bad name"): invalid event name"#), message)
        XCTAssertTrue(message.contains("at byte 3"), message)

        // A huge name is quoted shortened, so messages stay small.
        let huge = try XCTUnwrap(assertGateError(try gate.resolve(name: String(repeating: "n", count: 10_000))))
        XCTAssertLessThan(huge.message.utf8.count, 250, huge.message)
    }

    func testAStaleIdIsATypedErrorAndIsNotCounted() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("stale-error")
        let gate = try trackgate(publisher, store: store)
        let id = try gate.gate.resolve(name: "checkout.completed")
        gate.apply(plan: try publisher.seal(standardPlan, version: 4))

        let stale = try XCTUnwrap(assertGateError(try gate.gate.decideId(id: id, sizeBytes: 5)))
        guard case .StaleEventId(let message) = stale else { return XCTFail("expected StaleEventId, got \(stale)") }
        XCTAssertTrue(message.hasPrefix("decide_id(0x\(String(id, radix: 16))): "), message)
        // Any integer is safe to pass: it is simply stale.
        for any: UInt64 in [0, 1, .max, UInt64(UInt32.max), id + 1_000] {
            XCTAssertThrowsError(try gate.gate.decideId(id: any, sizeBytes: 1)) { error in
                guard case .StaleEventId = error as? GateError else { return XCTFail("\(error)") }
            }
        }
        let fresh = try gate.gate.resolve(name: "checkout.completed")
        XCTAssertEqual(try gate.gate.decideId(id: fresh, sizeBytes: 5), .keep(weight: 1))
        let report = gate.takeReport().report
        XCTAssertEqual(report.offered, 1)
        XCTAssertEqual(report.kept, 1)
    }

    func testUnusableArgumentsAreInvalidArgument() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("arguments")
        let gate = try trackgate(publisher, store: store)

        XCTAssertEqual(
            assertGateError(try gate.gate.decideBatch(names: ["a.b", "c.d"], sizes: [1])),
            .InvalidArgument(message: "decide_batch: 2 names but 1 sizes; pass one size per event"))
        XCTAssertEqual(
            assertGateError(try gate.gate.decideIds(ids: [], sizes: [1])),
            .InvalidArgument(message: "decide_ids: 0 ids but 1 sizes; pass one size per event"))
        let emptyUnit = try XCTUnwrap(assertGateError(try gate.setUnitId("")))
        guard case .InvalidArgument(let message) = emptyUnit else { return XCTFail("\(emptyUnit)") }
        XCTAssertTrue(message.hasPrefix("set_unit_id: "), message)
        XCTAssertNotNil(assertGateError(try gate.setUnitId(String(repeating: "u", count: 4097))))
        // Nothing was decided by the refused calls, and the unit id did not change.
        XCTAssertEqual(gate.unitId, "install-1")
        XCTAssertEqual(gate.takeReport().report.offered, 0)
        try gate.setUnitId("user-7")
        XCTAssertEqual(gate.unitId, "user-7")
    }

    func testFetchCallsWithoutATransportAreNoTransport() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("no-transport")
        let gate = try Trackgate(options: options(publisher, store: store))
        let calls: [(String, () throws -> FetchResult)] = [
            ("refresh_now", gate.refreshNow), ("on_foreground", gate.onForeground), ("fetch_if_due", gate.fetchIfDue),
        ]
        for (call, fetch) in calls {
            XCTAssertEqual(
                assertGateError(try fetch()),
                .NoTransport(
                    message: "\(call): no transport configured (GateOptions.transport); deliver plans with apply_plan"))
        }
    }

    func testErrorsThrownByASwiftTransportBecomeFailedFetches() throws {
        struct Unexpected: Error {}
        let publisher = try Publisher()
        let failures: [(Error, String)] = [
            (TransportError.Timeout(reason: "took too long"), "transport: Timeout: took too long"),
            (TransportError.Connect(reason: "refused"), "transport: Connect: refused"),
            (TransportError.protocolFailure("garbled"), "transport: Protocol: garbled"),
            (TransportError.BodyTooLarge(reason: "huge"), "transport: BodyTooLarge: huge"),
            (Unexpected(), "transport: Protocol: transport threw an unexpected exception"),
        ]
        for (thrown, expected) in failures {
            let store = try TemporaryDirectory("transport-error")
            let transport = ScriptedTransport([.failure(thrown)])
            let gate = try Trackgate(
                options: options(publisher, store: store, planURL: "https://plans.invalid/v1/plans/shop/prod",
                                 transport: transport))
            let result = try gate.refreshNow()
            guard case .failed(let reason) = result else {
                XCTFail("\(thrown): expected a failed fetch, got \(result)")
                continue
            }
            XCTAssertTrue(reason.contains(expected), "\(thrown): \(reason)")
            XCTAssertEqual(transport.requests.map(\.url), ["https://plans.invalid/v1/plans/shop/prod"])
            let status = gate.status
            XCTAssertEqual(status.consecutiveFailures, 1)
            XCTAssertNotNil(status.lastError)
            XCTAssertEqual(status.source, .failPolicy)
            // The failure backs off: no second request is due at once.
            guard case .notDue = try gate.fetchIfDue() else { return XCTFail("a fetch was due right after a failure") }
            XCTAssertEqual(transport.requests.count, 1)
        }
    }

    func testABodyOverTheLimitFromASwiftTransportIsRefused() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("transport-limit")
        let transport = ScriptedTransport([.success(HttpResponse(status: 200, headers: [], body: Data()))])
        let gate = try Trackgate(
            options: options(publisher, store: store, planURL: "https://plans.invalid/p", transport: transport))
        _ = try gate.refreshNow()
        let limit = try XCTUnwrap(transport.requests.first?.bodyLimit)
        XCTAssertEqual(limit, 8 * 1024 * 1024)

        // A transport that ignores the limit is caught before anything parses the body.
        let store2 = try TemporaryDirectory("transport-limit-2")
        let oversized = ScriptedTransport([
            .success(HttpResponse(status: 200, headers: [], body: Data(count: Int(limit) + 1)))
        ])
        let gate2 = try Trackgate(
            options: options(publisher, store: store2, planURL: "https://plans.invalid/p", transport: oversized))
        guard case .failed(let reason) = try gate2.refreshNow() else { return XCTFail("expected a failed fetch") }
        XCTAssertTrue(reason.contains("more than the limit"), reason)
    }
}
