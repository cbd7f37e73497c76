import Foundation
import XCTest

@testable import Trackgate

/// `apply(plan:)` and `status` with envelopes made by `trackgate keygen` and `trackgate build`:
/// valid, forged and rolled-back plans, the startup order, and a store that cannot be written.
final class PlanDeliveryTests: XCTestCase {
    /// v5 retires `feature.used`; v4 (older) keeps it. Which plan is active shows in decisions.
    private let planV4 = plan(events: #""feature.used": {"priority": "P2"}, "checkout.completed": {"priority": "P0"}"#)
    private let planV5 = plan(
        events: #""feature.used": {"priority": "P2", "status": "retired"}, "checkout.completed": {"priority": "P0"}"#)

    func testStatusFollowsTheActivePlanThroughStartupAndApply() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("status")

        let fresh = try Trackgate(options: options(publisher, store: store))
        var status = fresh.status
        XCTAssertEqual(status.source, .failPolicy)
        XCTAssertEqual(status.version, 0)
        XCTAssertNil(status.issuedAtUnix)
        XCTAssertNil(status.expiresAtUnix)
        XCTAssertNil(status.lastError)
        XCTAssertFalse(status.expired)
        // KeepAll: with no plan, every valid name leaves.
        XCTAssertEqual(fresh.track("anything.at_all", sizeBytes: 1), .keep(weight: 1))

        let before = UInt64(Date().timeIntervalSince1970)
        XCTAssertEqual(fresh.apply(plan: try publisher.seal(planV4, version: 4)), .installed(previousVersion: 0, version: 4))
        status = fresh.status
        XCTAssertEqual(status.source, .network)
        XCTAssertEqual(status.version, 4)
        let issuedAt = try XCTUnwrap(status.issuedAtUnix)
        XCTAssertTrue((before - 5...before + 5).contains(issuedAt), "issued at \(issuedAt), now \(before)")
        XCTAssertEqual(status.expiresAtUnix, issuedAt + 30 * 86_400)
        XCTAssertLessThan(try XCTUnwrap(status.ageSeconds), 60)
        XCTAssertEqual(fresh.track("anything.at_all", sizeBytes: 1), .drop(reason: .unregistered))

        // A restart on the same store starts from the verified cache, without any network.
        let restarted = try Trackgate(options: options(publisher, store: store))
        XCTAssertEqual(restarted.status.source, .cache)
        XCTAssertEqual(restarted.status.version, 4)
        XCTAssertEqual(restarted.track("feature.used", sizeBytes: 1), .keep(weight: 1))

        // A bundled plan newer than the cache wins (and becomes the cache).
        let bundled = try Trackgate(
            options: options(publisher, store: store, bundled: try publisher.seal(planV5, version: 5)))
        XCTAssertEqual(bundled.status.source, .bundled)
        XCTAssertEqual(bundled.status.version, 5)
        XCTAssertEqual(bundled.track("feature.used", sizeBytes: 1), .drop(reason: .retired))
        XCTAssertEqual(try Trackgate(options: options(publisher, store: store)).status.version, 5)
    }

    func testKeepP0OnlyKeepsTheBundledPlansP0EventsWhenNothingVerifies() throws {
        let publisher = try Publisher()
        let other = try Publisher()
        let store = try TemporaryDirectory("keep-p0")
        // Signed by a key the app does not trust: refused, but its P0 names still guide the policy.
        let untrusted = try other.seal(planV4, version: 4)
        let gate = try Trackgate(options: options(publisher, store: store, failPolicy: .keepP0Only, bundled: untrusted))
        XCTAssertEqual(gate.status.source, .failPolicy)
        XCTAssertNotNil(gate.status.lastError)
        XCTAssertEqual(gate.track("checkout.completed", sizeBytes: 1), .keep(weight: 1))
        XCTAssertEqual(gate.track("feature.used", sizeBytes: 1), .drop(reason: .unregistered))

        let nothing = try Trackgate(options: options(publisher, store: try TemporaryDirectory("keep-p0-none"),
                                                     failPolicy: .keepP0Only))
        XCTAssertEqual(nothing.track("checkout.completed", sizeBytes: 1), .drop(reason: .unregistered))
    }

    func testApplyingTheSamePlanAgainChangesNothing() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("same")
        let gate = try Trackgate(options: options(publisher, store: store))
        let envelope = try publisher.seal(planV4, version: 4)
        XCTAssertEqual(gate.apply(plan: envelope), .installed(previousVersion: 0, version: 4))
        XCTAssertEqual(gate.apply(plan: envelope), .alreadyCurrent)
        XCTAssertNil(gate.status.lastError)
    }

    func testForgedPlansAreRefusedAndTheActivePlanStays() throws {
        let publisher = try Publisher()
        let stranger = try Publisher()
        let store = try TemporaryDirectory("forged")
        let gate = try trackgate(publisher, store: store, planJSON: planV4, version: 4)
        let good = try publisher.seal(planV5, version: 5)

        var badSignature = good
        badSignature[badSignature.count - 1] ^= 0x01
        var tamperedPayload = good
        tamperedPayload[good.count - 70] ^= 0x01
        let now = UInt64(Date().timeIntervalSince1970)
        let forgeries: [(String, Data)] = [
            ("bad_signature", badSignature),
            ("bad_signature", tamperedPayload),
            ("unknown_key", try stranger.seal(planV5, version: 5)),
            ("wrong_scope", try publisher.seal(plan(app: "other", events: #""a.b": {"priority": "P0"}"#), version: 5)),
            ("malformed", good.prefix(40)),
            ("malformed", Data("not an envelope at all".utf8)),
            ("malformed", Data()),
            ("expired", try publisher.seal(planV5, version: 5,
                                           extra: ["--issued-at", String(now - 100 * 86_400), "--expires", "1d"])),
            ("issued_in_future", try publisher.seal(planV5, version: 5, extra: ["--issued-at", String(now + 10 * 86_400)])),
        ]
        for (kind, forged) in forgeries {
            guard case .refused(let refusedKind, let reason) = gate.apply(plan: forged) else {
                XCTFail("\(kind): not refused")
                continue
            }
            XCTAssertEqual(refusedKind, kind, reason)
            XCTAssertFalse(reason.isEmpty)
            let status = gate.status
            XCTAssertEqual(status.version, 4, kind)
            XCTAssertEqual(status.source, .network, kind)
            XCTAssertNotNil(status.lastError, kind)
            XCTAssertEqual(gate.track("feature.used", sizeBytes: 1), .keep(weight: 1), kind)
        }
        // The genuine plan still installs afterwards.
        XCTAssertEqual(gate.apply(plan: good), .installed(previousVersion: 4, version: 5))
        XCTAssertNil(gate.status.lastError)
    }

    func testARollbackIsRefusedAndTheLastGoodPlanStaysAcrossRestarts() throws {
        let publisher = try Publisher()
        let store = try TemporaryDirectory("rollback")
        let gate = try trackgate(publisher, store: store, planJSON: planV5, version: 5)
        let older = try publisher.seal(planV4, version: 4)

        guard case .refused(let kind, let reason) = gate.apply(plan: older) else { return XCTFail("rollback accepted") }
        XCTAssertEqual(kind, "rollback")
        XCTAssertTrue(reason.contains("4") && reason.contains("5"), reason)
        XCTAssertEqual(gate.status.version, 5)
        XCTAssertEqual(try XCTUnwrap(gate.status.lastError), reason)
        XCTAssertEqual(gate.track("feature.used", sizeBytes: 1), .drop(reason: .retired))

        // Not even a restart with the older plan bundled goes back.
        let restarted = try Trackgate(options: options(publisher, store: store, bundled: older))
        XCTAssertEqual(restarted.status.source, .cache)
        XCTAssertEqual(restarted.status.version, 5)
        XCTAssertEqual(restarted.track("feature.used", sizeBytes: 1), .drop(reason: .retired))

        // Another plan signed as version 5 is equivocation, reported as such.
        let twin = try publisher.seal(planV4, version: 5)
        guard case .refused(let twinKind, _) = restarted.apply(plan: twin) else { return XCTFail("equivocation accepted") }
        XCTAssertEqual(twinKind, "equivocation")
        XCTAssertEqual(restarted.track("feature.used", sizeBytes: 1), .drop(reason: .retired))
    }

    func testAPlanThatCannotBePersistedIsNotInstalled() throws {
        let publisher = try Publisher()
        let parent = try TemporaryDirectory("unwritable")
        // A regular file where the store directory should be: the gate starts, but cannot store.
        let blocker = parent.url.appendingPathComponent("store")
        try Data("not a directory".utf8).write(to: blocker)
        var gateOptions = options(publisher, store: parent)
        gateOptions.storeDirectory = blocker.path
        let gate = try Trackgate(options: gateOptions)
        XCTAssertEqual(gate.status.source, .failPolicy)
        XCTAssertTrue(try XCTUnwrap(gate.status.lastError).contains(blocker.path), "\(gate.status)")

        guard case .notPersisted(let reason) = gate.apply(plan: try publisher.seal(planV5, version: 5)) else {
            return XCTFail("a plan that could not be written was installed")
        }
        XCTAssertFalse(reason.isEmpty)
        XCTAssertEqual(gate.status.version, 0)
        XCTAssertEqual(gate.track("feature.used", sizeBytes: 1), .keep(weight: 1))
    }
}
