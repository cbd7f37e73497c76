// swift-tools-version:6.0
import PackageDescription

// A command-line stand-in for an iOS app that embeds trackgate: see ../README.md.
// The dependency's identity is its directory name, `swift` (bindings/swift).
let package = Package(
    name: "TrackgateDemo",
    platforms: [.macOS(.v10_15)],
    dependencies: [.package(path: "../../../bindings/swift")],
    targets: [
        .executableTarget(name: "TrackgateDemo", dependencies: [.product(name: "Trackgate", package: "swift")])
    ]
)
