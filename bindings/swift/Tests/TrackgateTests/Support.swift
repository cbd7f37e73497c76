import Foundation
import XCTest

@testable import Trackgate

// Helpers shared by the tests: the `trackgate` CLI (keygen, build) for real signed plans,
// temporary directories, the plan documents most tests use, and scripted transports.
//
// `bindings/swift/test.sh` provides the environment: TRACKGATE_CLI (the host-built `trackgate`
// binary), TRACKGATE_SERVE_URL and TRACKGATE_SERVE_DIR (a `trackgate serve` it started, and the
// directory it serves). Tests fail, naming the variable, when one is missing.

enum TestEnvironment {
    static func require(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw Failure("\(name) is not set: run the tests with bindings/swift/test.sh")
        }
        return value
    }

    static func cli() throws -> URL { URL(fileURLWithPath: try require("TRACKGATE_CLI")) }
    static func serveURL() throws -> String { try require("TRACKGATE_SERVE_URL") }
    static func serveDirectory() throws -> URL { URL(fileURLWithPath: try require("TRACKGATE_SERVE_DIR")) }
}

/// A test helper's own failure, with a message that says what to do.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under TMPDIR, removed when released.
final class TemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("trackgate-swift-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Runs the `trackgate` CLI and returns its stdout; throws with its stderr if it fails.
@discardableResult
func runCLI(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = try TestEnvironment.cli()
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Read before waiting: a full pipe would otherwise block the child.
    let stdout = output.fileHandleForReading.readDataToEndOfFile()
    let stderr = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw Failure(
            "trackgate \(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
                + String(decoding: stderr, as: UTF8.self))
    }
    return String(decoding: stdout, as: UTF8.self)
}

let app = "shop"
let env = "prod"

/// A publisher key pair made by `trackgate keygen`, and plans signed with it by `trackgate build`.
final class Publisher {
    let keys: TemporaryDirectory
    let publicKeyHex: String

    init() throws {
        keys = try TemporaryDirectory("keys")
        let directory = keys.url.appendingPathComponent("key")
        try runCLI(["keygen", "--out", directory.path])
        publicKeyHex = try String(contentsOf: directory.appendingPathComponent("public.hex"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var signingKey: String { keys.url.appendingPathComponent("key/signing.key").path }

    /// Signs `planJSON` as `version` with `trackgate build`; `extra` adds build options such as
    /// `["--issued-at", "...", "--expires", "1d"]`.
    func seal(_ planJSON: String, version: UInt64, extra: [String] = []) throws -> Data {
        let work = try TemporaryDirectory("build")
        let planFile = work.url.appendingPathComponent("plan.json")
        let envelopeFile = work.url.appendingPathComponent("plan.tgp")
        try planJSON.write(to: planFile, atomically: true, encoding: .utf8)
        try runCLI(
            ["build", planFile.path, "--key", signingKey, "--version", String(version), "--out", envelopeFile.path]
                + extra)
        return try Data(contentsOf: envelopeFile)
    }

    /// Signs `planJSON` and publishes it into the directory `trackgate serve` serves (written
    /// aside, then renamed in, so the server never reads half a file).
    func publish(_ planJSON: String, version: UInt64, scope: String) throws {
        let envelope = try seal(planJSON, version: version)
        let directory = try TestEnvironment.serveDirectory()
        let name = "\(scope)-v\(version).tgp"
        let temporary = directory.appendingPathComponent(".\(name).tmp")
        try envelope.write(to: temporary)
        try FileManager.default.moveItem(at: temporary, to: directory.appendingPathComponent(name))
    }
}

/// A plan document for `app/env` with these events (a JSON object's body) and extra top-level
/// fields (`extra` is empty or ends with a comma). The version is set by `trackgate build`.
func plan(app planApp: String = app, env planEnv: String = env, _ extra: String = "", events: String) -> String {
    """
    {"schema": 1, "app": "\(planApp)", "env": "\(planEnv)", "version": 1, \(extra) "events": {\(events)}}
    """
}

/// One registered event per outcome a single rule gives.
let standardEvents = """
    "checkout.completed": {"priority": "P0"},
    "legacy.banner_seen": {"priority": "P3", "status": "retired"},
    "photo.uploaded": {"priority": "P1", "max_bytes": 1000},
    "scroll.depth": {"priority": "P2", "sample": 0},
    "search.typed": {"priority": "P2", "rate_limit": {"per_second": 0.001, "burst": 1}}
    """

let standardPlan = plan(events: standardEvents)

/// Options for `shop/prod` trusting `publisher`, storing in `store`.
func options(
    _ publisher: Publisher, store: TemporaryDirectory, failPolicy: FailPolicy = .keepAll, bundled: Data? = nil,
    unitId: String? = "install-1", planURL: String? = nil, transport: HttpTransport? = nil
) -> GateOptions {
    GateOptions(
        app: app, env: env, trustedKeys: [.hex(text: publisher.publicKeyHex)], storeDirectory: store.path,
        failPolicy: failPolicy, bundledPlan: bundled, unitId: unitId, planUrl: planURL, transport: transport)
}

/// A `Trackgate` on a fresh store with `planJSON` installed as `version` through `apply(plan:)`.
func trackgate(
    _ publisher: Publisher, store: TemporaryDirectory, planJSON: String = standardPlan, version: UInt64 = 3,
    file: StaticString = #filePath, line: UInt = #line
) throws -> Trackgate {
    let gate = try Trackgate(options: options(publisher, store: store))
    let outcome = gate.apply(plan: try publisher.seal(planJSON, version: version))
    XCTAssertEqual(outcome, .installed(previousVersion: 0, version: version), file: file, line: line)
    return gate
}

/// A transport that answers from a script and records the requests it saw.
final class ScriptedTransport: HttpTransport, @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var answers: [Result<HttpResponse, Error>]
    private var seen: [HttpRequest] = []

    init(_ answers: [Result<HttpResponse, Error>]) {
        self.answers = answers
    }

    var requests: [HttpRequest] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }

    func get(request: HttpRequest) throws -> HttpResponse {
        lock.lock()
        seen.append(request)
        let answer = answers.isEmpty ? .failure(TransportError.Connect(reason: "script exhausted")) : answers.removeFirst()
        lock.unlock()
        return try answer.get()
    }
}

/// Asserts that `body` throws a `GateError` and returns it.
func assertGateError<T>(
    _ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line
) -> GateError? {
    do {
        let value = try body()
        XCTFail("expected a GateError, got \(value)", file: file, line: line)
    } catch let error as GateError {
        return error
    } catch {
        XCTFail("expected a GateError, got \(type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}

/// Sums per-reason counts, so totals can be compared across reports.
func + (left: ReasonCounts, right: ReasonCounts) -> ReasonCounts {
    ReasonCounts(
        disabled: left.disabled + right.disabled, invalidName: left.invalidName + right.invalidName,
        unregistered: left.unregistered + right.unregistered, retired: left.retired + right.retired,
        shed: left.shed + right.shed, oversize: left.oversize + right.oversize,
        sampledOut: left.sampledOut + right.sampledOut, rateLimited: left.rateLimited + right.rateLimited)
}

let zeroCounts = ReasonCounts(
    disabled: 0, invalidName: 0, unregistered: 0, retired: 0, shed: 0, oversize: 0, sampledOut: 0, rateLimited: 0)

/// `counts` with one more `reason`.
func adding(_ reason: DropReason, to counts: ReasonCounts) -> ReasonCounts {
    var counts = counts
    switch reason {
    case .disabled: counts.disabled += 1
    case .invalidName: counts.invalidName += 1
    case .unregistered: counts.unregistered += 1
    case .retired: counts.retired += 1
    case .shed: counts.shed += 1
    case .oversize: counts.oversize += 1
    case .sampledOut: counts.sampledOut += 1
    case .rateLimited: counts.rateLimited += 1
    }
    return counts
}

func total(_ counts: ReasonCounts) -> UInt64 {
    counts.disabled + counts.invalidName + counts.unregistered + counts.retired + counts.shed + counts.oversize
        + counts.sampledOut + counts.rateLimited
}
