import Foundation
import XCTest

@testable import Trackgate

/// `GateOptions.logger`: delivery events reach a Swift logger, on the calling thread.
final class LoggerTests: XCTestCase {
    final class Recorder: DeliveryLogger, @unchecked Sendable {
        // @unchecked: every access goes through `lock`.
        private let lock = NSLock()
        private var seen: [DeliveryEvent] = []

        func log(event: DeliveryEvent) {
            lock.lock()
            seen.append(event)
            lock.unlock()
        }

        func take() -> [DeliveryEvent] {
            lock.lock()
            defer { seen = []; lock.unlock() }
            return seen
        }
    }

    func testStartInstallAndRefusalReachTheLogger() throws {
        let (publisher, stranger) = (try Publisher(), try Publisher())
        let store = try TemporaryDirectory("logger")
        let recorder = Recorder()
        var withLogger = options(publisher, store: store, bundled: try stranger.seal(standardPlan, version: 3))
        withLogger.logger = recorder
        let gate = try Trackgate(options: withLogger)
        let started = recorder.take()
        guard started.count == 1, case .started(let source, _, let problem) = started[0] else {
            return XCTFail("expected one started event, got \(started)")
        }
        XCTAssertEqual(source, .failPolicy)
        XCTAssertTrue(problem?.contains("unknown key") ?? false, String(describing: problem))

        _ = gate.apply(plan: try publisher.seal(standardPlan, version: 4))
        _ = gate.apply(plan: try stranger.seal(standardPlan, version: 5))
        let events = recorder.take()
        guard events.count == 2, case .installed(_, _, let version) = events[0], case .refused(let kind, _) = events[1]
        else {
            return XCTFail("unexpected events \(events)")
        }
        XCTAssertEqual(version, 4)
        XCTAssertEqual(kind, "unknown_key")
    }
}
