// An app's first use of the Chatflow package added by URL: a few calls through the public facade only, against the
// real server. Arguments: SERVER_URL APP_ID EXPECTED_SDK_VERSION STORAGE_DIR. Exit 0 when every check holds.
import Chatflow
import FakeSwiftUI
import Foundation

struct Failure: Error, CustomStringConvertible { let description: String }

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw Failure(description: message()) }
}

struct ScreenSettings {
    // Unqualified, as in a SwiftUI view: resolves to FakeSwiftUI's type, not to anything Chatflow exports.
    @Environment var title: String
}

@main
struct ChatflowConsumer {
    static func main() async {
        do {
            try await run(Array(CommandLine.arguments.dropFirst()))
            print("consumer: all checks passed")
        } catch {
            print("consumer: FAILED: \(error)")
            exit(1)
        }
    }

    static func run(_ args: [String]) async throws {
        try check(args.count == 4, "usage: chatflow-consumer SERVER_URL APP_ID EXPECTED_SDK_VERSION STORAGE_DIR")
        let (serverURL, appId, expectedVersion, storage) = (args[0], args[1], args[2], args[3])

        try check(Chatflow.sdkVersion == expectedVersion, "sdkVersion \(Chatflow.sdkVersion), expected \(expectedVersion)")
        print("consumer: sdkVersion \(Chatflow.sdkVersion)")

        do {
            _ = try ChatflowConfig.fromJSON(#"{"server_url":"ftp://x","app_id":"a","environment":"staging","default_tag":"t"}"#)
            throw Failure(description: "a config with an ftp:// server_url was accepted")
        } catch ChatflowError.config(let detail) {
            try check(detail.contains("server_url"), "the config error does not name the field: \(detail)")
            print("consumer: config error: \(detail)")
        }

        let config = try ChatflowConfig.fromJSON(
            #"{"server_url":"\#(serverURL)","app_id":"\#(appId)","environment":"development","default_tag":"support"}"#)
        let environment: ChatflowEnvironment = config.environment
        try check(environment == .development, "environment \(environment)")
        let settings = ScreenSettings(title: "Support")
        try check(settings.title == "Support", "property wrapper")

        let chat = try ChatflowClient(config: config, storageDirectory: URL(fileURLWithPath: storage))
        _ = try await chat.refreshChatflows()
        guard case .found(let flow) = try chat.resolve(tag: "support").outcome else {
            throw Failure(description: "no chatflow resolved for tag support")
        }
        print("consumer: resolved tag support -> chatflow \(flow.chatflowId) \"\(flow.name)\"")
    }
}
