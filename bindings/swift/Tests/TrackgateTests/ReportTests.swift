import Foundation
import XCTest

@testable import Trackgate

/// Drop reports: every decision counted once, per event and per unregistered name, the JSON a
/// device uploads, and shadow plans.
final class ReportTests: XCTestCase {
    func testAReportCountsEveryDecisionOnceAndResets() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("report")
        let gate = try trackgate(publisher, store: store)
        _ = gate.track("checkout.completed", sizeBytes: 100)
        _ = gate.track("checkout.completed", sizeBytes: 50)
        _ = gate.track("legacy.banner_seen", sizeBytes: 7)
        _ = gate.track("photo.uploaded", sizeBytes: 2000)
        _ = gate.trackAll([.init("typo.evnt", sizeBytes: 3), .init("typo.evnt", sizeBytes: 4), .init("bad name", sizeBytes: 1)])

        let taken = gate.takeReport()
        let report = taken.report
        XCTAssertEqual(report.app, "shop")
        XCTAssertEqual(report.env, "prod")
        XCTAssertEqual(report.planVersion, 3)
        XCTAssertFalse(report.shadow)
        XCTAssertLessThanOrEqual(report.windowStartUnixMs, report.windowEndUnixMs)
        XCTAssertEqual(report.offered, 7)
        XCTAssertEqual(report.kept, 2)
        XCTAssertEqual(report.keptBytes, 150)
        XCTAssertEqual(
            report.dropped,
            ReasonCounts(
                disabled: 0, invalidName: 1, unregistered: 2, retired: 1, shed: 0, oversize: 1, sampledOut: 0,
                rateLimited: 0))
        XCTAssertEqual(report.droppedBytes, 7 + 2000 + 3 + 4 + 1)
        XCTAssertEqual(report.offered, report.kept + total(report.dropped))

        XCTAssertEqual(report.events.map(\.name), ["checkout.completed", "legacy.banner_seen", "photo.uploaded"])
        let checkout = report.events[0]
        XCTAssertEqual(checkout.priority, .p0)
        XCTAssertEqual(checkout.kept, 2)
        XCTAssertEqual(checkout.keptBytes, 150)
        XCTAssertEqual(checkout.keptWeighted, 2.0)
        XCTAssertEqual(report.events[2].dropped.oversize, 1)
        XCTAssertEqual(report.events[2].droppedBytes, 2000)
        XCTAssertEqual(
            report.unregistered, [UnregisteredReport(name: "typo.evnt", kept: 0, dropped: 2, shadowDropped: 0, bytes: 7)])
        XCTAssertEqual(report.unregisteredOverflow, 0)

        // The JSON to upload says the same, in the core's own field names.
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(taken.json.utf8)) as? [String: Any], taken.json)
        XCTAssertEqual(json["offered"] as? Int, 7)
        XCTAssertEqual(json["kept"] as? Int, 2)
        XCTAssertEqual(json["plan_version"] as? Int, 3)
        XCTAssertEqual((json["dropped"] as? [String: Any])?["unregistered"] as? Int, 2)
        XCTAssertEqual((json["events"] as? [[String: Any]])?.count, 3)

        // Taking a report resets the counts: each decision is in exactly one report.
        let next = gate.takeReport().report
        XCTAssertEqual(next.offered, 0)
        XCTAssertEqual(next.events, [])
        XCTAssertEqual(next.unregistered, [])
        XCTAssertGreaterThanOrEqual(next.windowStartUnixMs, report.windowEndUnixMs)
    }

    func testAShadowPlanKeepsEverythingAndCountsWouldBeDrops() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("shadow")
        let shadow = plan(#""shadow": true,"#, events: standardEvents)
        let gate = try trackgate(publisher, store: store, planJSON: shadow, version: 6)
        XCTAssertEqual(gate.track("legacy.banner_seen", sizeBytes: 1), .keep(weight: 1))
        XCTAssertEqual(gate.track("typo.evnt", sizeBytes: 1), .keep(weight: 1))
        XCTAssertEqual(gate.track("checkout.completed", sizeBytes: 1), .keep(weight: 1))
        let report = gate.takeReport().report
        XCTAssertTrue(report.shadow)
        XCTAssertEqual(report.kept, 3)
        XCTAssertEqual(report.dropped, zeroCounts)
        XCTAssertEqual(report.shadowDropped.retired, 1)
        XCTAssertEqual(report.shadowDropped.unregistered, 1)
        XCTAssertEqual(report.unregistered.first?.shadowDropped, 1)
    }

    func testAKeepUnregisteredPlanCountsUnregisteredNamesAsKept() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("keep-unregistered")
        let keeping = plan(#""unregistered": "keep","#, events: #""a.b": {"priority": "P1"}"#)
        let gate = try trackgate(publisher, store: store, planJSON: keeping, version: 2)
        XCTAssertEqual(gate.track("new.event", sizeBytes: 9), .keep(weight: 1))
        let report = gate.takeReport().report
        XCTAssertEqual(report.unregistered, [UnregisteredReport(name: "new.event", kept: 1, dropped: 0, shadowDropped: 0, bytes: 9)])
    }
}
