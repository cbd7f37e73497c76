// TrackgateBench: the cost of one decision as Swift code pays it, boundary crossing included.
//
// Run it through bindings/swift/bench.sh (release builds of the Rust library and of this
// executable, a plan made with `trackgate keygen/build`). It prints one Markdown table row per
// way of calling: the median over several runs of the time per event, and the fastest and
// slowest runs.
//
// Usage: TrackgateBench --envelope FILE --public-key HEX --store DIR [--runs N] [--events N]

import Dispatch
import Foundation
import Trackgate

struct Arguments {
    var envelope = ""
    var publicKey = ""
    var store = ""
    var runs = 9
    var events = 200_000

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { throw BenchError("\(flag) needs a value") }
            switch flag {
            case "--envelope": envelope = value
            case "--public-key": publicKey = value
            case "--store": store = value
            case "--runs": runs = try Self.positive(flag, value)
            case "--events": events = try Self.positive(flag, value)
            default: throw BenchError("unknown option \(flag)")
            }
        }
        guard !envelope.isEmpty, !publicKey.isEmpty, !store.isEmpty else {
            throw BenchError("usage: TrackgateBench --envelope FILE --public-key HEX --store DIR [--runs N] [--events N]")
        }
    }

    static func positive(_ flag: String, _ value: String) throws -> Int {
        guard let number = Int(value), number > 0 else { throw BenchError("\(flag) wants a positive integer") }
        return number
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Keeps results observable so the optimiser cannot drop the calls being measured.
nonisolated(unsafe) var sink = 0

func kept(_ decision: Decision) -> Int {
    if case .keep = decision { return 1 }
    return 0
}

/// Times `body` (which decides `events` events) `runs` times after one warm-up run; returns the
/// nanoseconds per event of each run, sorted.
func measure(runs: Int, events: Int, _ body: () -> Void) -> [Double] {
    body()
    var perEvent: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        perEvent.append(Double(elapsed) / Double(events))
    }
    return perEvent.sorted()
}

func row(_ label: String, _ sorted: [Double]) {
    let median = sorted[sorted.count / 2]
    let microseconds = { (nanoseconds: Double) in String(format: "%.3f", nanoseconds / 1000) }
    print("| \(label) | \(microseconds(median)) | \(microseconds(sorted.first!))–\(microseconds(sorted.last!)) |")
}

func run(_ arguments: Arguments) throws {
    let envelope = try Data(contentsOf: URL(fileURLWithPath: arguments.envelope))
    let trackgate = try Trackgate(
        app: "bench", env: "prod", trustedKeys: [arguments.publicKey],
        storeDirectory: URL(fileURLWithPath: arguments.store), failPolicy: .keepAll, unitId: "bench-unit")
    guard case .installed = trackgate.apply(plan: envelope) else {
        throw BenchError("the bench plan was not installed: \(trackgate.status)")
    }
    let gate = trackgate.gate

    // The plan registers bench.event_000 ... bench.event_063, all kept: every call does the
    // same work, whatever the order.
    let names = (0..<64).map { String(format: "bench.event_%03d", $0) }
    let ids = try names.map { try gate.resolve(name: $0) }
    let batchSize = 1000
    let batchNames = (0..<batchSize).map { names[$0 % names.count] }
    let batchIds = (0..<batchSize).map { ids[$0 % ids.count] }
    let batchSizes = [UInt64](repeating: 120, count: batchSize)
    let batchEvents = batchNames.map { Trackgate.Event($0, sizeBytes: 120) }
    let events = arguments.events
    let batches = max(1, events / batchSize)
    let runs = arguments.runs

    print("| call (\(events) events per run, median of \(runs) runs) | µs per event | fastest–slowest run |")
    print("|---|---|---|")
    row("`samplingIsKept` (a scalar call: the boundary's floor)", measure(runs: runs, events: events) {
        var count = 0
        for index in 0..<events where samplingIsKept(randomValue: UInt64(index), ratePpm: 500_000) { count += 1 }
        sink &+= count
    })
    row("`gate.decide(name:sizeBytes:)` (string per call)", measure(runs: runs, events: events) {
        var count = 0
        for index in 0..<events { count += kept(gate.decide(name: names[index & 63], sizeBytes: 120)) }
        sink &+= count
    })
    row("`gate.decideId(id:sizeBytes:)` (resolved id per call)", measure(runs: runs, events: events) {
        var count = 0
        for index in 0..<events { count += kept(try! gate.decideId(id: ids[index & 63], sizeBytes: 120)) }
        sink &+= count
    })
    row("`Trackgate.track(_:sizeBytes:)` (wrapper: id cache, then id call)", measure(runs: runs, events: events) {
        var count = 0
        for index in 0..<events { count += kept(trackgate.track(names[index & 63], sizeBytes: 120)) }
        sink &+= count
    })
    // Names the plan does not register: decided by name on every call.
    let unregistered = (0..<64).map { String(format: "bench.unregistered_%03d", $0) }
    row("`Trackgate.track(_:sizeBytes:)`, unregistered names (decided by name)", measure(runs: runs, events: events) {
        var count = 0
        for index in 0..<events { count += 1 - kept(trackgate.track(unregistered[index & 63], sizeBytes: 120)) }
        sink &+= count
    })
    // No cache: every call is a first-seen name, resolved then decided by id.
    let uncached = try Trackgate(
        app: "bench", env: "prod", trustedKeys: [arguments.publicKey],
        storeDirectory: URL(fileURLWithPath: arguments.store).appendingPathComponent("uncached"),
        failPolicy: .keepAll, unitId: "bench-unit", idCacheCapacity: 0)
    guard case .installed = uncached.apply(plan: envelope) else {
        throw BenchError("the bench plan was not installed: \(uncached.status)")
    }
    row("`Trackgate.track(_:sizeBytes:)`, cache off (every name first-seen: resolve, then id call)", measure(runs: runs, events: events) {
        var count = 0
        for index in 0..<events { count += kept(uncached.track(names[index & 63], sizeBytes: 120)) }
        sink &+= count
    })
    row("`gate.decideBatch(names:sizes:)`, batches of \(batchSize)", measure(runs: runs, events: batches * batchSize) {
        var count = 0
        for _ in 0..<batches {
            count += Int(try! gate.decideBatch(names: batchNames, sizes: batchSizes).codes.first!)
        }
        sink &+= count
    })
    row("`gate.decideIds(ids:sizes:)`, batches of \(batchSize)", measure(runs: runs, events: batches * batchSize) {
        var count = 0
        for _ in 0..<batches { count += Int(try! gate.decideIds(ids: batchIds, sizes: batchSizes).codes.first!) }
        sink &+= count
    })
    row("`gate.decideIdsPacked(idsLe:sizesLe:)`, batches of \(batchSize) (packing included)", measure(runs: runs, events: batches * batchSize) {
        var count = 0
        for _ in 0..<batches {
            var idBytes = [UInt8](repeating: 0, count: batchSize * 8)
            var sizeBytes = [UInt8](repeating: 0, count: batchSize * 8)
            idBytes.withUnsafeMutableBytes { idRaw in
                sizeBytes.withUnsafeMutableBytes { sizeRaw in
                    for index in 0..<batchSize {
                        idRaw.storeBytes(of: batchIds[index].littleEndian, toByteOffset: index * 8, as: UInt64.self)
                        sizeRaw.storeBytes(of: batchSizes[index].littleEndian, toByteOffset: index * 8, as: UInt64.self)
                    }
                }
            }
            let packed = try! gate.decideIdsPacked(idsLe: Data(idBytes), sizesLe: Data(sizeBytes))
            count += kept(packed.decisions[0]!)
        }
        sink &+= count
    })
    row("`Trackgate.trackAll(_:)`: `decideBatchPacked`, batches of \(batchSize) (packing and `[Decision]` included)", measure(runs: runs, events: batches * batchSize) {
        var count = 0
        for _ in 0..<batches { count += kept(trackgate.trackAll(batchEvents)[0]) }
        sink &+= count
    })

    let report = trackgate.takeReport().report
    guard report.offered == report.kept + report.dropped.unregistered else {
        throw BenchError("the bench plan dropped events (\(report.offered - report.kept)); the figures are not comparable")
    }
    FileHandle.standardError.write(Data("decided \(report.offered) events, checksum \(sink)\n".utf8))
}

do {
    try run(Arguments(Array(CommandLine.arguments.dropFirst())))
} catch {
    FileHandle.standardError.write(Data("TrackgateBench: \(error)\n".utf8))
    exit(1)
}
