import Chatflow
import Foundation

/// Entry point: open the client, find the chatflow, then run the chat until /quit or the end of input.
/// Fatal errors go to stderr with a non-zero exit code; errors of one action inside the chat do not end it.
@main
struct ConsoleApp {
    @MainActor
    static func main() async {
        let environment = ProcessInfo.processInfo.environment
        do {
            let options = try Options.parse(Array(CommandLine.arguments.dropFirst()), environment: environment)
            try await run(options, environment: environment)
            exit(0)
        } catch let error as ConsoleError {
            if error.isHelp {
                Console.say(error.message)
            } else {
                Console.warn("error: \(error.message)")
            }
            exit(error.exitCode)
        } catch {
            Console.warn("error: \(error)")
            exit(1)
        }
    }

    @MainActor
    static func run(_ options: Options, environment: [String: String]) async throws {
        let config = try options.loadConfig()
        if options.verbose {
            // The SDK's logs: no tokens or message bodies in them, so they are safe to show.
            try Chatflow.setLogger(level: .info) { record in
                Console.warn("[\(record.level)] \(record.target): \(record.message)")
            }
        }
        let storage = try options.storageDirectory(for: config, environment: environment)
        let chat: ChatflowClient
        do {
            chat = try ChatflowClient(config: config, storageDirectory: storage)
        } catch {
            throw ConsoleError(error, doing: "cannot open the chat in \(storage.path)")
        }

        let flow = try await findChatflow(chat, tag: options.tag, languages: options.languages)
        // One loop reads what the chat reacts to: typed lines, and the changes of the conversation's state that the
        // session announces in `inbox` once it follows a conversation.
        let (inputs, inbox) = Console.inputs()
        let session = ChatSession(chat: chat, flow: flow, inbox: inbox)
        try await session.pickConversation()
        try await session.start()
        try await session.run(inputs)
    }

    /// Refreshes the chatflow list (the cached one is used when the server is unreachable) and resolves the tag.
    @MainActor
    static func findChatflow(_ chat: ChatflowClient, tag: String?, languages: [String]) async throws(ConsoleError)
        -> ResolvedChatflow
    {
        do {
            try await chat.refreshChatflows()
        } catch {
            let cached = (try? chat.resolve(tag: tag, languages: languages))?.cache.fetchedAt != nil
            guard case .network = error, cached else {
                throw ConsoleError(error, doing: "cannot load the chatflows")
            }
            Console.warn("warning: \(error.detail); using the chatflows cached on this device")
        }

        let resolution: ChatflowResolution
        do {
            resolution = try chat.resolve(tag: tag, languages: languages)
        } catch {
            throw ConsoleError(error, doing: "cannot resolve the chatflow")
        }
        switch resolution.outcome {
        case .found(let flow):
            Console.say("chatflow: \(flow.name) (#\(flow.chatflowId), \(flow.kind.label), \(flow.language)) "
                + "for tag `\(tag ?? chat.config.defaultTag)`")
            return flow
        case .notFound(let tag):
            // `explain` lists the tags that exist: the usual cause is a typo in the app's config.
            let known = (try? chat.explain(tag: tag, languages: languages))?.knownTags ?? []
            throw ConsoleError(.notFound, "no enabled chatflow carries the tag `\(tag)`; tags that exist: "
                + (known.isEmpty ? "none" : known.joined(separator: ", ")))
        case .allHidden(let tag, let nextChangeAt):
            // An app hides its chat launcher in this case.
            let until = nextChangeAt.map { " until \(Date(timeIntervalSince1970: Double($0) / 1000))" } ?? ""
            throw ConsoleError(.notFound, "the chat for tag `\(tag)` is hidden now (the team is away)\(until)")
        }
    }
}

extension ChatflowKind {
    var label: String {
        switch self {
        case .liveChat: "live chat"
        case .bot: "bot"
        case .aiAgent: "AI agent"
        }
    }
}
