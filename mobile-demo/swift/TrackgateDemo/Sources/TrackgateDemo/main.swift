// TrackgateDemo: a command-line stand-in for an iOS app that embeds trackgate (README.md).
//
// Usage: TrackgateDemo --server URL --store DIR --phases N --public-key HEX
//                      [--app NAME] [--env NAME] [--step] [--max-refresh-wait SECONDS] [--refresh-gap SECONDS]
//
// stdout carries only the protocol lines the operator script reads (READY, PLAN, PHASE, DONE);
// everything else goes to stderr. Exit codes: 0 done, 1 the app could not start, 2 bad usage,
// 3 stopped by "quit" on stdin.

import Foundation

func usage(_ problem: String) -> Never {
    log(problem)
    log("usage: TrackgateDemo --server URL --store DIR --phases N --public-key HEX"
        + " [--app NAME] [--env NAME] [--step] [--max-refresh-wait SECONDS] [--refresh-gap SECONDS]")
    exit(2)
}

func parse(_ arguments: [String]) -> DemoApp.Options {
    var server: URL?
    var store: URL?
    var phases: Int?
    var publicKey: String?
    var app = "shop"
    var env = "prod"
    var step = false
    var maxRefreshWait: TimeInterval = 75
    var refreshGap: UInt32 = 60
    var iterator = arguments.makeIterator()
    func value(_ flag: String) -> String {
        guard let value = iterator.next() else { usage("\(flag) needs a value") }
        return value
    }
    while let flag = iterator.next() {
        switch flag {
        case "--server":
            let text = value(flag)
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https" else {
                usage("--server wants an http(s) URL, got \(text)")
            }
            server = url
        case "--store": store = URL(fileURLWithPath: value(flag), isDirectory: true)
        case "--phases":
            guard let count = Int(value(flag)), count > 0 else { usage("--phases wants a positive integer") }
            phases = count
        case "--public-key": publicKey = value(flag)
        case "--app": app = value(flag)
        case "--env": env = value(flag)
        case "--step": step = true
        case "--max-refresh-wait":
            guard let seconds = TimeInterval(value(flag)), seconds >= 0 else {
                usage("--max-refresh-wait wants seconds")
            }
            maxRefreshWait = seconds
        case "--refresh-gap":
            guard let seconds = UInt32(value(flag)), (1...3600).contains(seconds) else {
                usage("--refresh-gap wants 1 to 3600 seconds")
            }
            refreshGap = seconds
        default: usage("unknown option \(flag)")
        }
    }
    guard let server, let store, let phases, let publicKey else {
        usage("--server, --store, --phases and --public-key are required")
    }
    var options = DemoApp.Options(server: server, store: store, phases: phases, publicKeyHex: publicKey)
    options.app = app
    options.env = env
    options.step = step
    options.maxRefreshWait = maxRefreshWait
    options.refreshGap = refreshGap
    return options
}

let options = parse(Array(CommandLine.arguments.dropFirst()))
do {
    let app = try DemoApp(options: options)
    exit(app.run() ? 0 : 3)
} catch {
    log("cannot start: \(error)")
    exit(1)
}
