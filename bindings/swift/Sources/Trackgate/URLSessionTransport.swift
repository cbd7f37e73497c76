import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An ``HttpTransport`` on `URLSession`, for plan fetches.
///
/// The gate calls ``get(request:)`` synchronously on the thread that called a fetch method
/// (`refreshNow`, `onForeground`, `fetchIfDue`); this transport runs the request on its own
/// session and waits for it, so that thread blocks for at most ``Configuration/resourceTimeout``
/// (plus a small margin). Never call the fetch methods on the main thread.
///
/// What it guarantees, as the ``HttpTransport`` contract asks:
/// - **Body cap**: it stops reading as soon as the body exceeds `request.bodyLimit` (or the
///   announced `Content-Length` does) and throws ``TransportError/BodyTooLarge(reason:)``.
/// - **Every status is an answer**: 304, 404, 429, 503... come back as an ``HttpResponse``;
///   only failures to get an answer throw.
/// - **Conditional requests are the gate's**: the request's headers (`Accept`,
///   `If-None-Match`) are sent as given, and `URLSession`'s own cache is off, so a 304 reaches
///   the gate instead of being replaced by a cached body.
/// - **Redirects** are followed only to the same scheme (never from `https` to `http`).
/// - **Errors** are mapped to ``TransportError``: ``TransportError/Connect(reason:)`` (refused,
///   DNS, TLS, offline), ``TransportError/Timeout(reason:)``, and
///   ``TransportError/Protocol(reason:)`` for everything else.
///
/// On Apple platforms a plain `http://` plan URL needs an App Transport Security exception;
/// serve plans over `https` (the envelope is signed either way).
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    // @unchecked: all stored properties are immutable; per-request state lives in `Loader`,
    // behind its lock.

    /// Timeouts and identification of the requests.
    ///
    /// The transport raises timeouts under one second to one second (Linux's FoundationNetworking
    /// rounds them down to whole seconds, and 0 would time out at once) and the resource timeout
    /// to at least the request timeout.
    public struct Configuration: Sendable {
        /// Longest wait for the connection or for the next bytes of the answer, in seconds.
        public var requestTimeout: TimeInterval
        /// Longest time for the whole request, from start to last byte, in seconds.
        public var resourceTimeout: TimeInterval
        /// The `User-Agent` header, if set.
        public var userAgent: String?

        /// Timeouts in seconds, and an optional `User-Agent`. The defaults suit a background
        /// plan refresh: 15 s without progress, 60 s in all.
        public init(requestTimeout: TimeInterval = 15, resourceTimeout: TimeInterval = 60, userAgent: String? = nil) {
            self.requestTimeout = requestTimeout
            self.resourceTimeout = resourceTimeout
            self.userAgent = userAgent
        }
    }

    /// The timeouts (after raising them to at least a second) and headers in use.
    public let configuration: Configuration
    private let session: URLSession
    private let loader: Loader

    /// A transport with its own `URLSession` (ephemeral: no cookies, no cache, no credentials
    /// stored).
    ///
    /// - Parameter configuration: Timeouts and `User-Agent`.
    public init(configuration: Configuration = Configuration()) {
        var configuration = configuration
        configuration.requestTimeout = max(1, configuration.requestTimeout)
        configuration.resourceTimeout = max(configuration.requestTimeout, configuration.resourceTimeout)
        self.configuration = configuration
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = configuration.requestTimeout
        sessionConfiguration.timeoutIntervalForResource = configuration.resourceTimeout
        sessionConfiguration.requestCachePolicy = .reloadIgnoringLocalCacheData
        sessionConfiguration.urlCache = nil
        sessionConfiguration.httpCookieStorage = nil
        sessionConfiguration.httpShouldSetCookies = false
        if let userAgent = configuration.userAgent {
            sessionConfiguration.httpAdditionalHeaders = ["User-Agent": userAgent]
        }
        let queue = OperationQueue()
        queue.name = "dev.trackgate.URLSessionTransport"
        queue.maxConcurrentOperationCount = 1
        loader = Loader()
        session = URLSession(configuration: sessionConfiguration, delegate: loader, delegateQueue: queue)
    }

    deinit {
        // The session holds its delegate until invalidated; without this both would leak.
        session.invalidateAndCancel()
    }

    /// Performs the GET and waits for the answer.
    ///
    /// - Parameter request: What the gate asks for: URL, headers, body cap.
    /// - Returns: The server's answer, whatever its status; the body has at most
    ///   `request.bodyLimit` bytes.
    /// - Throws: ``TransportError`` when no complete answer arrived.
    public func get(request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https"
        else {
            throw TransportError.protocolFailure("not an http(s) URL: \(request.url)")
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = "GET"
        urlRequest.cachePolicy = .reloadIgnoringLocalCacheData
        urlRequest.timeoutInterval = configuration.requestTimeout
        for header in request.headers {
            urlRequest.addValue(header.value, forHTTPHeaderField: header.name)
        }

        let task = session.dataTask(with: urlRequest)
        let exchange = Exchange(limit: request.bodyLimit)
        loader.register(exchange, for: task)
        task.resume()
        // URLSession enforces the timeouts; the margin only guards against a session that never
        // calls back, so the gate's thread cannot hang forever.
        if exchange.done.wait(timeout: .now() + configuration.resourceTimeout + 5) == .timedOut {
            task.cancel()
            loader.unregister(task)
            throw TransportError.Timeout(
                reason: "GET \(request.url): no answer within \(configuration.resourceTimeout) s")
        }
        return try exchange.result(url: request.url)
    }
}

/// The state of one request, filled in on the session's delegate queue and read by the waiting
/// thread after `done` is signalled.
private final class Exchange: @unchecked Sendable {
    // @unchecked: written only on the delegate queue before `done.signal()`, read only after
    // `done.wait()`, so the semaphore orders every access.
    let limit: UInt64
    let done = DispatchSemaphore(value: 0)
    var response: HTTPURLResponse?
    var body = Data()
    var overLimit: String?
    var error: Error?

    init(limit: UInt64) {
        self.limit = limit
    }

    func result(url: String) throws -> HttpResponse {
        if let overLimit {
            throw TransportError.BodyTooLarge(reason: "GET \(url): \(overLimit)")
        }
        if let error {
            throw Self.transportError(error, url: url)
        }
        guard let response else {
            throw TransportError.protocolFailure("GET \(url): finished without an HTTP response")
        }
        guard let status = UInt16(exactly: response.statusCode) else {
            throw TransportError.protocolFailure("GET \(url): status code \(response.statusCode) is out of range")
        }
        let headers = response.allHeaderFields.compactMap { name, value -> HttpHeader? in
            guard let name = name as? String else { return nil }
            return HttpHeader(name: name, value: "\(value)")
        }
        return HttpResponse(status: status, headers: headers, body: body)
    }

    static func transportError(_ error: Error, url: String) -> TransportError {
        let reason = "GET \(url): \(error.localizedDescription)"
        guard let urlError = error as? URLError else { return .Protocol(reason: reason) }
        switch urlError.code {
        case .timedOut:
            return .Timeout(reason: reason)
        case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet,
            .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected,
            .clientCertificateRequired, .cannotLoadFromNetwork, .internationalRoamingOff, .dataNotAllowed,
            .callIsActive, .appTransportSecurityRequiresSecureConnection:
            return .Connect(reason: reason)
        default:
            return .Protocol(reason: reason)
        }
    }
}

/// The session delegate: streams each body into its ``Exchange`` and stops at the cap.
private final class Loader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // @unchecked: `exchanges` is only touched with `lock` held.
    private let lock = NSLock()
    private var exchanges: [Int: Exchange] = [:]

    func register(_ exchange: Exchange, for task: URLSessionTask) {
        lock.lock()
        exchanges[task.taskIdentifier] = exchange
        lock.unlock()
    }

    @discardableResult
    func unregister(_ task: URLSessionTask) -> Exchange? {
        lock.lock()
        defer { lock.unlock() }
        return exchanges.removeValue(forKey: task.taskIdentifier)
    }

    private func exchange(for task: URLSessionTask) -> Exchange? {
        lock.lock()
        defer { lock.unlock() }
        return exchanges[task.taskIdentifier]
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        guard let exchange = exchange(for: dataTask) else { return completionHandler(.cancel) }
        exchange.response = response as? HTTPURLResponse
        let announced = response.expectedContentLength
        if announced > 0, UInt64(announced) > exchange.limit {
            exchange.overLimit = "Content-Length \(announced) exceeds the limit of \(exchange.limit) bytes"
            return completionHandler(.cancel)
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let exchange = exchange(for: dataTask), exchange.overLimit == nil else { return }
        if UInt64(exchange.body.count) + UInt64(data.count) > exchange.limit {
            exchange.overLimit = "the body exceeds the limit of \(exchange.limit) bytes"
            exchange.body = Data()
            dataTask.cancel()
            return
        }
        exchange.body.append(data)
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        let from = task.originalRequest?.url?.scheme?.lowercased()
        let to = request.url?.scheme?.lowercased()
        // nil: no redirect; the 3xx itself is returned to the gate as the answer.
        completionHandler(from != nil && from == to ? request : nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let exchange = unregister(task) else { return }
        exchange.error = error
        exchange.done.signal()
    }
}
