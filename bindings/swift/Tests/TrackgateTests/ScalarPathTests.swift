import Foundation
import XCTest

@testable import Trackgate

/// `Trackgate.track` through the library's scalar C functions (``ScalarPath``): call for call
/// what `gate.decide` answers, for every kind of name, with or without the id cache, across plan
/// swaps behind the wrapper, and the same report.
final class ScalarPathTests: XCTestCase {
    private let names = [
        "checkout.completed", "legacy.banner_seen", "photo.uploaded", "scroll.depth", "search.typed", "typo.evnt",
        "another.unknown", "bad name", "", "café.opened", "名前", String(repeating: "x", count: 129),
        String(repeating: "é", count: 300),
    ]

    private func assertTracksLikeDecide(_ wrapped: Trackgate, _ raw: Gate, file: StaticString = #filePath, line: UInt = #line) {
        for round in 0..<3 {
            for (index, name) in names.enumerated() {
                let size = 150 * index + 500 * round
                XCTAssertEqual(
                    wrapped.track(name, sizeBytes: size), raw.decide(name: name, sizeBytes: UInt64(size)),
                    "\(name.prefix(20)), size \(size)", file: file, line: line)
            }
        }
    }

    func testEveryKindOfNameDecidesAsDecideWithTheSameReport() throws {
        let publisher = try Publisher()
        let (storeA, storeB) = (try TemporaryDirectory("scalar-a"), try TemporaryDirectory("scalar-b"))
        let wrapped = try trackgate(publisher, store: storeA)
        let raw = try trackgate(publisher, store: storeB).gate
        XCTAssertNotNil(wrapped.gate.scalarToken(), "the wrapper holds a scalar token, so track takes the scalar path")
        assertTracksLikeDecide(wrapped, raw)
        XCTAssertNotNil(wrapped.cachedId("checkout.completed"), "first-seen names are resolved by the scalar path")
        XCTAssertEqual(wrapped.cachedId("checkout.completed"), try wrapped.gate.resolve(name: "checkout.completed"))

        // Behind the wrapper's back: a registered name retires, an unregistered one registers.
        let next = plan(events: #""checkout.completed": {"priority": "P0", "status": "retired"}, "typo.evnt": {"priority": "P1"}"#)
        let envelope = try publisher.seal(next, version: 4)
        XCTAssertEqual(wrapped.gate.applyPlan(envelope: envelope), .installed(previousVersion: 3, version: 4))
        XCTAssertEqual(raw.applyPlan(envelope: envelope), .installed(previousVersion: 3, version: 4))
        assertTracksLikeDecide(wrapped, raw)
        XCTAssertEqual(wrapped.takeReport().report.withoutWindow, raw.takeReport().report.withoutWindow)
    }

    func testWithoutTheCacheEveryCallIsResolvedAndDecidedByTheScalarPath() throws {
        let publisher = try Publisher()
        let (storeA, storeB) = (try TemporaryDirectory("uncached-a"), try TemporaryDirectory("uncached-b"))
        let wrapped = try Trackgate(options: options(publisher, store: storeA), idCacheCapacity: 0)
        XCTAssertEqual(
            wrapped.apply(plan: try publisher.seal(standardPlan, version: 3)), .installed(previousVersion: 0, version: 3))
        let raw = try trackgate(publisher, store: storeB).gate
        assertTracksLikeDecide(wrapped, raw)
        XCTAssertNil(wrapped.cachedId("checkout.completed"))
        XCTAssertEqual(wrapped.takeReport().report.withoutWindow, raw.takeReport().report.withoutWindow)
    }
}
