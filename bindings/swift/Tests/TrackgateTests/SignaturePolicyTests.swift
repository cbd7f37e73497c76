import Foundation
import XCTest

@testable import Trackgate

/// Reviews as signatures: under a two-role `SignaturePolicy` a plan signed by the business key
/// alone is refused (the active plan stays) and accepted once the technical key co-signs it with
/// `trackgate sign`. Keys come from `trackgate keygen --role`, envelopes from `trackgate build
/// --format 2`.
final class SignaturePolicyTests: XCTestCase {
    private func keygen(_ role: String, in work: TemporaryDirectory) throws -> (signingKey: String, publicHex: String) {
        let directory = work.url.appendingPathComponent(role)
        try runCLI(["keygen", "--out", directory.path, "--role", role])
        let hex = try String(contentsOf: directory.appendingPathComponent("public.hex"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return (directory.appendingPathComponent("signing.key").path, hex)
    }

    func testOneRoleAloneIsRefusedAndTheCoSignedPlanIsAccepted() throws {
        let work = try TemporaryDirectory("policy")
        let business = try keygen("business", in: work)
        let technical = try keygen("technical", in: work)
        let planFile = work.url.appendingPathComponent("plan.json")
        let envelope = work.url.appendingPathComponent("plan.tgp")
        try standardPlan.write(to: planFile, atomically: true, encoding: .utf8)
        try runCLI([
            "build", planFile.path, "--key", business.signingKey, "--format", "2", "--version", "4",
            "--out", envelope.path,
        ])
        let policy = SignaturePolicy(
            keys: [
                RoleKey(key: .hex(text: business.publicHex), role: "business"),
                RoleKey(key: .hex(text: technical.publicHex), role: "technical"),
            ],
            thresholds: [RoleThreshold(role: "business", count: 1), RoleThreshold(role: "technical", count: 1)],
            revoked: [])
        let store = try TemporaryDirectory("policy-store")
        let gate = try Trackgate(
            app: app, env: env, trustedKeys: [], storeDirectory: store.url, failPolicy: .keepAll,
            signaturePolicy: policy)
        guard case .refused(let kind, let reason) = gate.apply(plan: try Data(contentsOf: envelope)) else {
            return XCTFail("a plan signed by one role alone was not refused")
        }
        XCTAssertEqual(kind, "not_enough_signatures", reason)
        XCTAssertTrue(reason.contains("role `technical`: have 0 of 1"), reason)
        XCTAssertEqual(gate.status.version, 0)

        try runCLI(["sign", envelope.path, "--key", technical.signingKey])
        XCTAssertEqual(gate.apply(plan: try Data(contentsOf: envelope)), .installed(previousVersion: 0, version: 4))

        // Today's options (plain hex, any one key) accept the co-signed plan too.
        let legacyStore = try TemporaryDirectory("policy-legacy")
        let legacy = try Trackgate(
            app: app, env: env, trustedKeys: [business.publicHex], storeDirectory: legacyStore.url,
            failPolicy: .keepAll)
        XCTAssertEqual(legacy.apply(plan: try Data(contentsOf: envelope)), .installed(previousVersion: 0, version: 4))
    }
}
