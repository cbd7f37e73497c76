import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Sends what the gate kept, and its drop reports, to the collector (`POST /v1/collect` on
/// `trackgate serve --collect FILE`). A body that cannot be sent goes to an outbox file in the
/// store and is sent first next time, as an app would retry after being offline.
final class Uploader {
    enum Body {
        /// Kept events, one JSON object per line.
        case ndjson(Data)
        /// One JSON document (the drop report, byte for byte as the library encoded it).
        case json(Data)

        var contentType: String {
            switch self {
            case .ndjson: return "application/x-ndjson"
            case .json: return "application/json"
            }
        }

        var data: Data {
            switch self {
            case .ndjson(let data), .json(let data): return data
            }
        }
    }

    private let url: URL
    private let outbox: URL
    private let session: URLSession

    init(collectURL: URL, outbox: URL) {
        url = collectURL
        self.outbox = outbox
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        configuration.timeoutIntervalForResource = 30
        session = URLSession(configuration: configuration)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// Sends queued bodies, then `body`. Returns how many items the collector accepted now;
    /// whatever could not be sent is queued.
    func send(_ body: Body) -> (collected: Int, queued: Int) {
        var pending = loadOutbox()
        pending.append(body)
        var collected = 0
        var unsent: [Body] = []
        for item in pending {
            // Keep order: once one fails (server down), queue the rest without trying.
            if unsent.isEmpty, let count = post(item) {
                collected += count
            } else {
                unsent.append(item)
            }
        }
        saveOutbox(unsent)
        return (collected, unsent.count)
    }

    /// POSTs one body; the number of items collected, or nil if it was not accepted.
    private func post(_ body: Body) -> Int? {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue(body.contentType, forHTTPHeaderField: "Content-Type")
        request.httpBody = body.data
        let done = DispatchSemaphore(value: 0)
        let outcome = Box<Result<HTTPURLResponse, Error>>()
        session.dataTask(with: request) { _, response, error in
            if let response = response as? HTTPURLResponse {
                outcome.value = .success(response)
            } else {
                outcome.value = .failure(error ?? URLError(.badServerResponse))
            }
            done.signal()
        }.resume()
        done.wait()
        switch outcome.value {
        case .success(let response) where (200..<300).contains(response.statusCode):
            let header = response.value(forHTTPHeaderField: "X-Trackgate-Collected") ?? "0"
            return Int(header) ?? 0
        case .success(let response):
            log("upload refused: HTTP \(response.statusCode) from \(url)")
            return nil
        case .failure(let error):
            log("upload failed: \(error.localizedDescription); queued for the next upload")
            return nil
        case nil:
            return nil
        }
    }

    // The outbox: one line per body, `<content type> <base64>`.
    private func loadOutbox() -> [Body] {
        guard let text = try? String(contentsOf: outbox, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let data = Data(base64Encoded: String(parts[1])) else { return nil }
            return parts[0] == "application/json" ? .json(data) : .ndjson(data)
        }
    }

    private func saveOutbox(_ bodies: [Body]) {
        if bodies.isEmpty {
            try? FileManager.default.removeItem(at: outbox)
            return
        }
        let text = bodies.map { "\($0.contentType) \($0.data.base64EncodedString())\n" }.joined()
        do {
            try Data(text.utf8).write(to: outbox, options: .atomic)
        } catch {
            log("cannot write the outbox \(outbox.path): \(error.localizedDescription)")
        }
    }
}

/// A value set on URLSession's delegate queue and read after the semaphore: the semaphore
/// orders the accesses.
private final class Box<Value>: @unchecked Sendable {
    var value: Value?
}
