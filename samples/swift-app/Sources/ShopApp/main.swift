// The quickstart's Swift app (docs/quickstart.md): fetches the signed plan from `trackgate
// serve`, decides a few events, and uploads the drop report to the server's collector.
//
//   swift run ShopApp SERVER_URL PUBLIC_HEX_FILE STORE_DIR
//
// Prints one line per decision and exits 0; exits 1 if no plan could be installed.
import Foundation
import Trackgate

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

let arguments = CommandLine.arguments
guard arguments.count == 4, let server = URL(string: arguments[1]) else {
    FileHandle.standardError.write(Data("usage: ShopApp SERVER_URL PUBLIC_HEX_FILE STORE_DIR\n".utf8))
    exit(2)
}
let publicKeyHex = try String(contentsOfFile: arguments[2], encoding: .utf8)
    .trimmingCharacters(in: .whitespacesAndNewlines)

let gate = try Trackgate(
    app: "shop", env: "prod",
    trustedKeys: [publicKeyHex],
    storeDirectory: URL(fileURLWithPath: arguments[3], isDirectory: true),
    failPolicy: .keepP0Only,
    planURL: server.appendingPathComponent("v1/plans/shop/prod"),
    transport: URLSessionTransport())

// Apps call onForeground() (it fetches when due); refreshNow() fetches at once.
let fetched = try gate.refreshNow()
guard case .installed(let version) = fetched else {
    FileHandle.standardError.write(Data("no plan installed: \(fetched) (\(gate.status.lastError ?? ""))\n".utf8))
    exit(1)
}
print("plan version \(version) installed")

for (name, size) in [("checkout.completed", 512), ("legacy.banner_seen", 64),
                     ("photo.uploaded", 2_000_000), ("serach.typed", 16)] {
    switch gate.track(name, sizeBytes: size) {
    case .keep(let weight): print("\(name): keep (weight \(weight))")
    case .drop(let reason): print("\(name): drop (\(reason))")
    }
}

let taken = gate.takeReport()
print("report: \(taken.report.offered) offered, \(taken.report.kept) kept, upload HTTP \(upload(taken.json, to: server))")

/// POSTs the drop report as the server's collector takes it; returns the HTTP status (0: none).
func upload(_ json: String, to server: URL) -> Int {
    var request = URLRequest(url: server.appendingPathComponent("v1/collect"))
    request.httpMethod = "POST"
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = Data(json.utf8)
    final class Status: @unchecked Sendable { var code = 0 }  // written before done.signal()
    let status = Status()
    let done = DispatchSemaphore(value: 0)
    URLSession.shared.dataTask(with: request) { _, response, _ in
        status.code = (response as? HTTPURLResponse)?.statusCode ?? 0
        done.signal()
    }.resume()
    done.wait()
    return status.code
}
