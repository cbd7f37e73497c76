import Foundation
import XCTest

@testable import Trackgate

/// Strict start (`GateOptions.strict`): the usual misconfigurations fail `Trackgate(options:)`
/// with a typed error naming the cause; without it (production) the gate starts on the fail
/// policy and the cause is only in `status.lastError`.
final class MisconfigurationTests: XCTestCase {
    private func strictFailure(_ options: GateOptions, file: StaticString = #filePath, line: UInt = #line) -> GateError? {
        var strict = options
        strict.strict = true
        return assertGateError(try Trackgate(options: strict), file: file, line: line)
    }

    private func assertRefused(
        _ error: GateError?, naming parts: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        guard case .BundledPlanRefused(let message)? = error else {
            return XCTFail("expected BundledPlanRefused, got \(String(describing: error))", file: file, line: line)
        }
        for part in parts {
            XCTAssertTrue(message.contains(part), "expected '\(part)' in: \(message)", file: file, line: line)
        }
    }

    func testPlanJSONAsTheBundledPlanNamesBadMagic() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("strict-json")
        let bad = options(publisher, store: store, bundled: Data(standardPlan.utf8))
        assertRefused(strictFailure(bad), naming: ["(malformed)", "bad magic", "these bytes are plan JSON"])
        let gate = try Trackgate(options: bad)
        XCTAssertEqual(gate.status.source, .failPolicy)
        XCTAssertTrue(gate.status.lastError?.contains("bad magic") ?? false)
    }

    func testAKeyFromAnotherKeypairNamesTheUnknownKey() throws {
        let (publisher, stranger) = (try Publisher(), try Publisher())
        let store = try TemporaryDirectory("strict-key")
        let bad = options(publisher, store: store, bundled: try stranger.seal(standardPlan, version: 3))
        assertRefused(strictFailure(bad), naming: ["(unknown_key)", "is by unknown key", "not in GateOptions.trusted_keys"])
    }

    func testAWrongAppNamesBothScopes() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("strict-scope")
        var bad = options(publisher, store: store, bundled: try publisher.seal(standardPlan, version: 3))
        bad.app = "shopp"
        assertRefused(strictFailure(bad), naming: ["(wrong_scope)", "plan is for shop/prod, this device runs shopp/prod"])
    }

    func testAGoodConfigurationStartsStrictly() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("strict-good")
        var good = options(publisher, store: store, bundled: try publisher.seal(standardPlan, version: 3))
        good.strict = true
        let gate = try Trackgate(options: good)
        XCTAssertEqual(gate.status.source, .bundled)
        XCTAssertEqual(gate.status.version, 3)
    }
}
