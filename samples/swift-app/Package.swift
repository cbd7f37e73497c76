// swift-tools-version:6.0
import PackageDescription

// The quickstart's Swift app (docs/quickstart.md). It depends on the trackgate package by path,
// as any package can; the dependency's identity is its directory name, `swift`. On Linux the
// trackgate package links and finds the library it staged (bindings/swift/scripts/package.sh),
// so no -Xlinker flag or LD_LIBRARY_PATH is needed.
let package = Package(
    name: "ShopApp",
    platforms: [.macOS(.v10_15)],
    dependencies: [.package(path: "../../bindings/swift")],
    targets: [
        .executableTarget(name: "ShopApp", dependencies: [.product(name: "Trackgate", package: "swift")])
    ]
)
