import Dispatch
import Foundation
import XCTest

@testable import Trackgate

/// One `Trackgate` shared by many threads, while a new plan is swapped in and reports are taken
/// concurrently: every decision is counted exactly once, in exactly one report.
final class ConcurrencyTests: XCTestCase {
    /// What the threads saw, summed.
    private struct Tally {
        var offered: UInt64 = 0
        var kept: UInt64 = 0
        var keptBytes: UInt64 = 0
        var dropped = zeroCounts
        var droppedBytes: UInt64 = 0

        mutating func add(_ decision: Decision, size: Int) {
            offered += 1
            switch decision {
            case .keep:
                kept += 1
                keptBytes += UInt64(size)
            case .drop(let reason):
                dropped = adding(reason, to: dropped)
                droppedBytes += UInt64(size)
            }
        }

        mutating func add(_ other: Tally) {
            offered += other.offered
            kept += other.kept
            keptBytes += other.keptBytes
            dropped = dropped + other.dropped
            droppedBytes += other.droppedBytes
        }

        mutating func add(_ report: DropReport) {
            offered += report.offered
            kept += report.kept
            keptBytes += report.keptBytes
            dropped = dropped + report.dropped
            droppedBytes += report.droppedBytes
        }
    }

    /// A lock-protected box the worker closures share.
    private final class Shared<Value>: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Value
        init(_ value: Value) { self.value = value }
        func update(_ body: (inout Value) -> Void) {
            lock.lock()
            body(&value)
            lock.unlock()
        }
        var current: Value {
            lock.lock()
            defer { lock.unlock() }
            return value
        }
    }

    func testManyThreadsCountExactlyWhileAPlanIsSwappedAndReportsAreTaken() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("concurrency")
        // Every event decides differently under the two plans.
        let before = plan(
            events: """
                "c.keep": {"priority": "P0"},
                "c.retire": {"priority": "P1"},
                "c.size": {"priority": "P1", "max_bytes": 100},
                "c.sample": {"priority": "P2", "sample": 0},
                "c.limit": {"priority": "P2", "rate_limit": {"per_second": 0.001, "burst": 50}}
                """)
        let after = plan(
            #""unregistered": "keep","#,
            events: """
                "c.keep": {"priority": "P0", "status": "retired"},
                "c.retire": {"priority": "P1", "status": "retired"},
                "c.size": {"priority": "P1", "max_bytes": 100000},
                "c.sample": {"priority": "P2", "sample": 1},
                "c.limit": {"priority": "P2", "rate_limit": {"per_second": 0.001, "burst": 10}}
                """)
        let gate = try trackgate(publisher, store: store, planJSON: before, version: 1)
        let swapEnvelope = try publisher.seal(after, version: 2)
        let names = ["c.keep", "c.retire", "c.size", "c.sample", "c.limit", "c.unknown", "bad name"]

        let workers = 48
        let eventsPerWorker = 1_200
        let swapAt = workers / 2
        let tally = Shared(Tally())
        let reports = Shared([DropReport]())
        let swapped = Shared<ApplyOutcome?>(nil)

        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            if worker == swapAt {
                // Through the generated gate, so the wrapper's cached ids go stale under the
                // other threads and `track` must resolve them again.
                let outcome = gate.gate.applyPlan(envelope: swapEnvelope)
                swapped.update { $0 = outcome }
            }
            var local = Tally()
            var index = 0
            while index < eventsPerWorker {
                if worker % 2 == 0 {
                    let name = names[(worker + index) % names.count]
                    let size = (index * 37) % 400
                    local.add(gate.track(name, sizeBytes: size), size: size)
                    index += 1
                } else {
                    let events = (0..<50).map { offset in
                        Trackgate.Event(names[(worker + index + offset) % names.count], sizeBytes: (index + offset) % 300)
                    }
                    for (event, decision) in zip(events, gate.trackAll(events)) {
                        local.add(decision, size: event.sizeBytes)
                    }
                    index += events.count
                }
                if worker % 8 == 3, index % 300 == 0 {
                    let report = gate.takeReport().report
                    reports.update { $0.append(report) }
                }
            }
            let finished = local
            tally.update { $0.add(finished) }
        }
        reports.update { $0.append(gate.takeReport().report) }

        XCTAssertEqual(swapped.current, .installed(previousVersion: 1, version: 2))
        let seen = tally.current
        var counted = Tally()
        for report in reports.current {
            XCTAssertEqual(report.offered, report.kept + total(report.dropped), "a report does not add up: \(report)")
            counted.add(report)
        }
        XCTAssertEqual(seen.offered, UInt64(workers * eventsPerWorker))
        XCTAssertEqual(counted.offered, seen.offered, "offered")
        XCTAssertEqual(counted.kept, seen.kept, "kept")
        XCTAssertEqual(counted.keptBytes, seen.keptBytes, "kept bytes")
        XCTAssertEqual(counted.dropped, seen.dropped, "dropped by reason")
        XCTAssertEqual(counted.droppedBytes, seen.droppedBytes, "dropped bytes")
        XCTAssertGreaterThan(reports.current.count, 2, "reports were not taken while threads decided")
        // Both plans decided: v1's sampling and v2's retirements both show.
        XCTAssertGreaterThan(seen.dropped.sampledOut, 0)
        XCTAssertGreaterThan(seen.dropped.retired, 0)
        XCTAssertGreaterThan(seen.dropped.oversize, 0)
        XCTAssertGreaterThan(seen.dropped.invalidName, 0)
        XCTAssertGreaterThan(seen.dropped.rateLimited, 0)
        XCTAssertEqual(gate.status.version, 2)
    }
}
