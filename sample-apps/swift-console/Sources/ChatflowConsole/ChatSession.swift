import Chatflow
import Foundation
import Observation

/// The chat on one chatflow: the conversation's state as the SDK keeps it, and what of it is on screen.
///
/// The conversation is followed with `chat.observeConversation(_:)`: an `@Observable` model whose `state` the SDK
/// keeps up to date (messages with their delivery, typing, quick replies, connection, …). In an iOS app this is the
/// chat screen's `@MainActor` model and a SwiftUI view draws `observed.state` as it is. A terminal cannot redraw, so
/// this keeps the state it printed last and prints what changed (StateChanges.swift).
@MainActor
final class ChatSession {
    /// A question waiting for the visitor's next line.
    enum Question { case consent, optIn, email }

    let chat: ChatflowClient
    let flow: ResolvedChatflow
    /// The chat loop's input stream: changes of the observed state are announced there.
    let inbox: AsyncStream<Input>.Continuation
    /// `nil` until the first message opens one: no empty conversations in the team's inbox.
    var conversation: ChatConversation?
    /// The conversation's state, kept up to date by the SDK; `nil` while there is no conversation.
    var observed: ObservedConversation?
    var questions: [Question] = []
    /// The buttons on offer (the newest team message's, until the visitor writes): typing their number picks one.
    var quickReplies: [QuickReply] = []
    var paused = false
    var knowledgeBaseSynced = false

    // What is on screen, compared with each new state (StateChanges.swift).
    /// The state printed last.
    var shown: ConversationState?
    /// The messages on screen (by `MessageItem.id`, the same from local echo to server copy) and the delivery shown.
    var onScreen: [Int64: Delivery] = [:]
    /// The visitor's messages sent from here: the end of piped input waits for their delivery.
    var sentHere: Set<Int64> = []
    /// Local echoes met before the server stored them: queued on this device earlier, not from another device.
    var echoesMet: Set<Int64> = []
    /// Messages up to this seq existed before the chat started: a catch-up that stores them is not news.
    var baseline: Int64 = 0
    /// The intro showed the welcome and no team message has been shown since.
    var welcomeOnScreen = false
    var offerShown: [QuickReply] = []
    var surveyShown: Int64?
    var everOnline = false
    var connectionShown: String?

    init(chat: ChatflowClient, flow: ResolvedChatflow, inbox: AsyncStream<Input>.Continuation) {
        self.chat = chat
        self.flow = flow
        self.inbox = inbox
    }

    // MARK: Start

    /// The newest open conversation on this chatflow, if any (the server's list when a session exists already).
    func pickConversation() async throws(ConsoleError) {
        if chat.session?.visitorId != nil {
            do {
                try await chat.refreshConversations()
            } catch {
                guard error.isRetryable else { throw ConsoleError(error, doing: "cannot load your conversations") }
                // Offline: the conversations on the device are enough to continue.
            }
        }
        do {
            conversation = try chat.conversations().first { $0.chatflowId == flow.chatflowId && $0.status == .open }
        } catch {
            throw ConsoleError(error, doing: "cannot read the conversations on this device")
        }
    }

    /// Header, welcome message, the end of the continued conversation, then the first questions.
    func start() async throws(ConsoleError) {
        let availability = flow.availability
        Console.say("\(flow.header.displayName) · \(flow.name) · " + (availability.available ? "● available" : "○ away"))
        if !availability.available {
            if let away = availability.awayMessage { Console.say(away) }
            if let typical = availability.typicalResponseTime { Console.say("The team typically replies \(typical.label).") }
        }
        if !flow.welcomeMessage.isEmpty {
            Console.say("\(flow.header.displayName): \(flow.welcomeMessage)")
            welcomeOnScreen = true
        }

        do {
            if conversation == nil, flow.kind == .bot {
                // A bot speaks first: open the conversation now so its greeting and buttons show. (For people, the
                // first message opens it: no empty conversations in the team's inbox.)
                do {
                    let opened = try await chat.openConversation(chatflowId: flow.chatflowId)
                    conversation = opened
                    try await follow(opened, continued: false)
                } catch where error.isRetryable {
                    Console.warn("warning: \(error.detail); the bot will answer your first message")
                }
            } else if let conversation {
                // The state holds what the device has: bring the end of the conversation here first (a local read
                // when it is here already; after a reinstall it comes from the server).
                _ = try? await chat.messages(in: conversation.id, limit: 10)
                try await follow(conversation, continued: true)
            }
        } catch {
            throw ConsoleError(error, doing: "cannot start the conversation")
        }

        let consent: ConsentState
        do {
            consent = try chat.consentState(chatflowId: flow.chatflowId)
        } catch {
            throw ConsoleError(error, doing: "cannot read the consent state")
        }
        switch consent.processData.status {
        case .awaitingDecision: questions.append(.consent)
        case .noticeToShow, .implied: Console.say("Note: \(consent.processData.text)")
        case .declined: Console.say("You declined the data-processing notice: no message can be sent (/consent to change).")
        case .accepted, .notRequired: break
        }
        if consent.communicate?.optedIn == nil, consent.communicate != nil { questions.append(.optIn) }
        if (try? chat.emailCapturePrompt(chatflowId: flow.chatflowId))?.askNow == true { questions.append(.email) }

        Console.say("Type a message and press enter · a number picks a quick reply · /help · /quit")
        if let first = questions.first { ask(first) }
    }

    // MARK: Following the conversation

    /// Starts following `conversation` and shows its first state. `continued`: it existed before the chat started,
    /// so its messages are not news (the end of it is shown as such); else everything in it is.
    func follow(_ conversation: ChatConversation, continued: Bool) async throws(ChatflowError) {
        if continued { baseline = conversation.lastSeq }
        let observed = try chat.observeConversation(conversation.id, limit: 50)
        self.observed = observed
        Self.watch(observed, into: inbox)
        // The first snapshot reaches the model on the main actor just after observing starts. Waiting for it (briefly) puts the
        // conversation before the questions of the intro; should it be late, the loop shows it when it comes.
        let deadline = ContinuousClock.now + .seconds(5)
        while observed.state == nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        guard let first = observed.state else { return }
        if continued { showEarlier(first) }
        render(first)
    }

    /// Yields `.stateChanged` into `inbox` each time `observed.state` changes, until `observed` is released.
    ///
    /// Observation calls `onChange` once per arming, just *before* the new state is stored. The model applies the
    /// SDK's updates on the main actor, so a main-actor task started there runs after the new state is in place: it
    /// re-arms and tells the loop to look. Changes applied before that task runs are in the state the loop reads.
    static func watch(_ observed: ObservedConversation, into inbox: AsyncStream<Input>.Continuation) {
        withObservationTracking {
            _ = observed.state
        } onChange: { [weak observed] in
            Task { @MainActor in
                guard let observed else { return }
                watch(observed, into: inbox)
                inbox.yield(.stateChanged)
            }
        }
    }

    /// Messages sent from here that the screen still shows on their way (a refused one waits for the visitor).
    var waitingForDelivery: Bool {
        sentHere.contains { id in
            switch onScreen[id] {
            case .queued, .sending: true
            default: false
            }
        }
    }

    /// The team's branding replaces agents' names when the chatflow asks for it.
    func displayName(_ kind: AuthorKind, _ name: String?) -> String {
        switch kind {
        case .agent: flow.header.useBrandingAsAgentAlias ? flow.header.displayName : (name ?? "Agent")
        case .bot: name ?? flow.bot?.displayName ?? flow.header.displayName
        case .system: "Chatflow"
        case .visitor: "you"
        }
    }
}

extension TypicalResponseTime {
    var label: String {
        switch self {
        case .fewMinutes: "in a few minutes"
        case .fewHours: "in a few hours"
        case .aDay: "within a day"
        }
    }
}

/// `📎 receipt.pdf (application/pdf, 12 kB)`
func attachmentLine(_ attachment: MessageAttachment) -> String {
    let size = switch attachment.size {
    case 1_000_000...: String(format: "%.1f MB", Double(attachment.size) / 1e6)
    case 1_000...: "\(attachment.size / 1_000) kB"
    default: "\(attachment.size) B"
    }
    return "📎 \(attachment.fileName) (\(attachment.mimeType), \(size))"
}
