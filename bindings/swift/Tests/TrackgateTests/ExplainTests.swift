import Foundation
import XCTest

@testable import Trackgate

/// `Trackgate.explain` and `explainText`, and a report's table.
final class ExplainTests: XCTestCase {
    func testExplainNamesTheRuleAndItsValuesAndCountsNothing() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("explain")
        let gate = try trackgate(publisher, store: store)
        let explained = gate.explain("photo.uploaded", sizeBytes: 5000)
        XCTAssertEqual(explained.decision, .drop(reason: .oversize))
        XCTAssertEqual(explained.refusedBy, .oversize)
        XCTAssertEqual(explained.planVersion, 3)
        XCTAssertEqual(explained.maxBytes, 1000)
        let text = gate.explainText("photo.uploaded", sizeBytes: 5000)
        XCTAssertTrue(text.contains("5000 bytes, cap 1000  <- refused here"), text)
        let sampled = gate.explain("scroll.depth", sizeBytes: 1)
        XCTAssertEqual(sampled.refusedBy, .sampledOut)
        XCTAssertNotNil(sampled.unitValue)
        for _ in 0..<3 {
            XCTAssertEqual(gate.explain("search.typed", sizeBytes: 1).tokensLeft, 1)
        }
        XCTAssertEqual(gate.takeReport().report.offered, 0)
        for name in ["checkout.completed", "photo.uploaded", "scroll.depth", "typo.evnt"] {
            XCTAssertEqual(gate.explain(name, sizeBytes: 5000).decision, gate.track(name, sizeBytes: 5000), name)
        }
    }

    func testAReportPrintsAsATable() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("table")
        let gate = try trackgate(publisher, store: store)
        _ = gate.track("checkout.completed", sizeBytes: 120)
        _ = gate.track("typo.evnt", sizeBytes: 7)
        let taken = gate.takeReport()
        let table = taken.table
        XCTAssertTrue(table.hasPrefix("shop/prod plan version 3, "), table)
        XCTAssertTrue(table.contains("offered 2, kept 1 (120 bytes), dropped 1 (7 bytes): unregistered 1"), table)
        XCTAssertTrue(
            table.split(separator: "\n").contains { $0.split(separator: " ").prefix(3) == ["checkout.completed", "P0", "1"] },
            table)
    }
}
