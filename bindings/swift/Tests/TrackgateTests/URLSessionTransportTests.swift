import Foundation
import XCTest

@testable import Trackgate

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `URLSessionTransport` against a real `trackgate serve` on 127.0.0.1 (started by
/// `bindings/swift/test.sh`), and against sockets that refuse or never answer.
final class URLSessionTransportTests: XCTestCase {
    private let accept = HttpHeader(name: "Accept", value: "application/vnd.trackgate.plan")
    private let limit: UInt64 = 8 * 1024 * 1024

    /// A scope (env) of its own per test, so tests never see each other's plans on the server.
    private func uniqueEnv() -> String {
        "swift-" + UUID().uuidString.prefix(8).lowercased()
    }

    private func planURL(env: String) throws -> String {
        try TestEnvironment.serveURL() + "/v1/plans/\(app)/\(env)"
    }

    /// Polls the server until it serves `url` with an ETag other than `previousETag` (it rescans
    /// its directory every 50 ms), and returns that answer.
    private func waitUntilServed(
        _ url: String, previousETag: String? = nil, file: StaticString = #filePath, line: UInt = #line
    ) throws -> HttpResponse {
        let transport = URLSessionTransport()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            let response = try transport.get(request: HttpRequest(url: url, headers: [accept], bodyLimit: limit))
            if response.status == 200, response.header("ETag") != previousETag {
                return response
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw Failure("trackgate serve did not serve a new plan at \(url) within 15 s")
    }

    func testGetReturnsThePlanItsHeadersAndA304ForItsETag() throws {
        let publisher = try Publisher()
        let scope = uniqueEnv()
        try publisher.publish(plan(env: scope, events: standardEvents), version: 7, scope: scope)
        let url = try planURL(env: scope)
        let served = try waitUntilServed(url)

        let transport = URLSessionTransport()
        let response = try transport.get(request: HttpRequest(url: url, headers: [accept], bodyLimit: limit))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, served.body)
        XCTAssertEqual(response.header("Content-Type"), "application/vnd.trackgate.plan")
        XCTAssertEqual(response.header("Cache-Control"), "max-age=900")
        let etag = try XCTUnwrap(response.header("ETag"))
        XCTAssertTrue(etag.hasPrefix("\"") && etag.hasSuffix("\""), etag)
        XCTAssertNotNil(response.header("Date"))
        let body = response.body
        XCTAssertEqual(body.prefix(6), Data("TGPLAN".utf8))

        // If-None-Match with the ETag: 304 reaches the caller as an answer, with an empty body
        // (URLSession's own cache is off, so it cannot substitute the cached 200).
        let conditional = try transport.get(
            request: HttpRequest(url: url, headers: [accept, HttpHeader(name: "If-None-Match", value: etag)],
                                 bodyLimit: limit))
        XCTAssertEqual(conditional.status, 304)
        XCTAssertEqual(conditional.body, Data())
        XCTAssertEqual(conditional.header("ETag"), etag)

        // Another ETag: the whole plan again.
        let stale = try transport.get(
            request: HttpRequest(url: url, headers: [HttpHeader(name: "If-None-Match", value: "\"0000\"")],
                                 bodyLimit: limit))
        XCTAssertEqual(stale.status, 200)
        XCTAssertEqual(stale.body, body)
    }

    func testStatusesAreAnswersNotErrors() throws {
        let transport = URLSessionTransport()
        let missing = try transport.get(
            request: HttpRequest(url: try planURL(env: uniqueEnv()), headers: [accept], bodyLimit: limit))
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(String(decoding: missing.body, as: UTF8.self), "no plan for this app and env\n")
        let noRoute = try transport.get(
            request: HttpRequest(url: try TestEnvironment.serveURL() + "/nothing/here", headers: [], bodyLimit: limit))
        XCTAssertEqual(noRoute.status, 404)
    }

    func testTheBodyLimitIsRespected() throws {
        let publisher = try Publisher()
        let scope = uniqueEnv()
        try publisher.publish(plan(env: scope, events: standardEvents), version: 2, scope: scope)
        let url = try planURL(env: scope)
        let size = UInt64(try waitUntilServed(url).body.count)

        let transport = URLSessionTransport()
        let exact = try transport.get(request: HttpRequest(url: url, headers: [], bodyLimit: size))
        XCTAssertEqual(UInt64(exact.body.count), size)
        for tight in [size - 1, 10, 0] {
            XCTAssertThrowsError(try transport.get(request: HttpRequest(url: url, headers: [], bodyLimit: tight))) {
                guard case .BodyTooLarge(let reason) = $0 as? TransportError else {
                    return XCTFail("limit \(tight): expected BodyTooLarge, got \($0)")
                }
                XCTAssertTrue(reason.contains("limit of \(tight) bytes"), reason)
            }
        }
    }

    func testARefusedConnectionIsConnect() throws {
        let port = try closedPort()
        let transport = URLSessionTransport()
        XCTAssertThrowsError(
            try transport.get(request: HttpRequest(url: "http://127.0.0.1:\(port)/v1/plans/shop/prod", headers: [],
                                                   bodyLimit: limit))
        ) {
            guard case .Connect(let reason) = $0 as? TransportError else { return XCTFail("expected Connect, got \($0)") }
            XCTAssertTrue(reason.hasPrefix("GET http://127.0.0.1:\(port)/"), reason)
        }
    }

    func testAServerThatNeverAnswersIsATimeout() throws {
        let listener = try SilentListener()
        // Timeouts under a second would be 0 (time out at once) on Linux: they are raised to 1 s.
        let transport = URLSessionTransport(configuration: .init(requestTimeout: 0.2, resourceTimeout: 0.1))
        XCTAssertEqual(transport.configuration.requestTimeout, 1)
        XCTAssertEqual(transport.configuration.resourceTimeout, 1)
        let started = Date()
        XCTAssertThrowsError(
            try transport.get(request: HttpRequest(url: "http://127.0.0.1:\(listener.port)/", headers: [],
                                                   bodyLimit: limit))
        ) {
            guard case .Timeout(let reason) = $0 as? TransportError else { return XCTFail("expected Timeout, got \($0)") }
            XCTAssertTrue(reason.hasPrefix("GET http://127.0.0.1:\(listener.port)/: "), reason)
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(elapsed, 0.9, "timed out before the timeout")
        XCTAssertLessThan(elapsed, 8, "the timeout was not applied")
        withExtendedLifetime(listener) {}
    }

    func testAnythingButHTTPIsRefusedBeforeAnyRequest() {
        let transport = URLSessionTransport()
        for url in ["ftp://127.0.0.1/plan", "not a url", "file:///etc/passwd"] {
            XCTAssertThrowsError(try transport.get(request: HttpRequest(url: url, headers: [], bodyLimit: limit))) {
                guard case .Protocol = $0 as? TransportError else { return XCTFail("\(url): got \($0)") }
            }
        }
    }

    func testTheGateFetchesThroughURLSessionTransportFromTrackgateServe() throws {
        let publisher = try Publisher()
        let scope = uniqueEnv()
        try publisher.publish(plan(env: scope, events: standardEvents), version: 7, scope: scope)
        let url = try planURL(env: scope)
        _ = try waitUntilServed(url)

        let store = try TemporaryDirectory("fetch")
        var gateOptions = options(publisher, store: store, planURL: url, transport: URLSessionTransport())
        gateOptions.env = scope
        let gate = try Trackgate(options: gateOptions)
        XCTAssertEqual(gate.status.source, .failPolicy)
        XCTAssertEqual(try gate.refreshNow(), .installed(version: 7))
        let status = gate.status
        XCTAssertEqual(status.source, .network)
        XCTAssertEqual(status.version, 7)
        XCTAssertNotNil(status.lastSuccessUnix)
        XCTAssertEqual(status.consecutiveFailures, 0)
        XCTAssertNil(status.lastError)
        // The server's max-age of 900 s sets the next fetch 15 minutes out.
        let now = UInt64(Date().timeIntervalSince1970)
        XCTAssertTrue((now + 840...now + 960).contains(status.nextFetchUnix), "next fetch \(status.nextFetchUnix), now \(now)")
        XCTAssertEqual(gate.track("legacy.banner_seen", sizeBytes: 1), .drop(reason: .retired))
        guard case .notDue = try gate.fetchIfDue() else { return XCTFail("a fetch was due right after a success") }
        guard case .notDue = try gate.onForeground() else { return XCTFail("on_foreground fetched within 15 min") }

        // A restart starts from the cache and keeps the schedule: nothing is due.
        let restarted = try Trackgate(options: gateOptions)
        XCTAssertEqual(restarted.status.source, .cache)
        XCTAssertEqual(restarted.status.version, 7)
        guard case .notDue = try restarted.fetchIfDue() else { return XCTFail("the schedule was not persisted") }
    }

    func testAServedPlanFromAnUntrustedKeyIsRefusedAndTheGateBacksOff() throws {
        let publisher = try Publisher()
        let stranger = try Publisher()
        let scope = uniqueEnv()
        try stranger.publish(plan(env: scope, events: standardEvents), version: 9, scope: scope)
        let url = try planURL(env: scope)
        _ = try waitUntilServed(url)

        let store = try TemporaryDirectory("fetch-refused")
        var gateOptions = options(publisher, store: store, planURL: url, transport: URLSessionTransport())
        gateOptions.env = scope
        let gate = try Trackgate(options: gateOptions)
        guard case .refused(let reason) = try gate.refreshNow() else { return XCTFail("an untrusted plan was accepted") }
        XCTAssertTrue(reason.contains("key"), reason)
        XCTAssertEqual(gate.status.source, .failPolicy)
        XCTAssertEqual(gate.status.consecutiveFailures, 1)
        XCTAssertEqual(gate.track("legacy.banner_seen", sizeBytes: 1), .keep(weight: 1))
    }
}

extension HttpResponse {
    /// The first value of header `name`, compared case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// A port on 127.0.0.1 that nothing listens on: bound, then closed again.
private func closedPort() throws -> UInt16 {
    let listener = try SilentListener()
    return listener.port
}

/// A TCP socket on 127.0.0.1 that listens but never accepts or answers: connections complete in
/// the kernel's backlog, and requests wait forever. Closed when released.
private final class SilentListener {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        #if canImport(Glibc)
            let stream = Int32(SOCK_STREAM.rawValue)
        #else
            let stream = SOCK_STREAM
        #endif
        let descriptor = socket(AF_INET, stream, 0)
        guard descriptor >= 0 else { throw Failure("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && listen(descriptor, 8) == 0
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw Failure("bind/listen on 127.0.0.1 failed: errno \(errno)")
        }
        self.descriptor = descriptor
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit {
        close(descriptor)
    }
}
