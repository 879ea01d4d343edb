// swift-tools-version:6.0
// chatflow-console: a terminal chat written against the Chatflow Swift facade, the way an iOS app uses it.
//
// It depends on the SDK's Swift package by path (the repository root, `../..`); an app adds it by URL instead:
//     .package(url: "https://github.com/chatflow/chatflow", from: "0.1.0")
// On Linux that package links the host-built Rust library (see the root Package.swift): run
// `scripts/bindings.sh build` first, or use ./run.sh, which does everything.
import PackageDescription

let package = Package(
    name: "ChatflowConsole",
    // macOS 14: the observable conversation state (`ObservedConversation`) uses the Observation framework.
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "chatflow-console", targets: ["ChatflowConsole"]),
    ],
    dependencies: [
        // Named, so the product reference below does not depend on the checkout's directory name.
        .package(name: "chatflow", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "ChatflowConsole",
            // Only the public facade: `import Chatflow`, never the generated bindings.
            dependencies: [.product(name: "Chatflow", package: "chatflow")],
            path: "Sources/ChatflowConsole"
        ),
    ],
    // Swift 6 language mode: strict concurrency checking is on, data races are compile errors.
    swiftLanguageModes: [.v6]
)
