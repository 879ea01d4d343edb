import Chatflow
import Foundation

/// The chat on one chatflow: what is on screen and how each SDK event changes it.
///
/// In an iOS app this is the `@Observable @MainActor` model behind the chat screen: the same state, fed by the
/// same `for await event in chat.events()` loop; SwiftUI views replace the `Console.say` calls.
@MainActor
final class ChatSession {
    /// A question waiting for the visitor's next line.
    enum Question { case consent, optIn, email }

    let chat: ChatflowClient
    let flow: ResolvedChatflow
    /// `nil` until the first message opens one: no empty conversations in the team's inbox.
    var conversation: ChatConversation?
    var questions: [Question] = []
    /// The latest team message's buttons: typing their number picks one.
    var quickReplies: [QuickReply] = []
    /// The visitor's messages sent from here: client message id → delivery already shown.
    var echoes: [String: Bool] = [:]
    var paused = false
    var knowledgeBaseSynced = false

    /// Messages up to this seq existed before the chat started: a catch-up that stores them is not news.
    private var baseline: UInt64 = 0
    /// The intro showed the welcome and no team message has been shown since.
    private var welcomeOnScreen = false
    private var shown = Set<UInt64>()
    private var lastVisitorSeq: UInt64 = 0
    private var seenShown: UInt64 = 0
    private var latestTeamSeq: UInt64 = 0
    private var typing = Set<String>()
    private var everOnline = false
    private var shownConnection: String?

    init(chat: ChatflowClient, flow: ResolvedChatflow) {
        self.chat = chat
        self.flow = flow
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

        if conversation == nil, flow.kind == .bot {
            // A bot speaks first: open the conversation now so its greeting and buttons show. (For people, the
            // first message opens it: no empty conversations in the team's inbox.)
            do {
                conversation = try await chat.openConversation(chatflowId: flow.chatflowId)
            } catch where error.isRetryable {
                Console.warn("warning: \(error.detail); the bot will answer your first message")
            } catch {
                throw ConsoleError(error, doing: "cannot start the conversation")
            }
        } else if let conversation {
            await showRecent(conversation)
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

    /// The end of the conversation being continued, as a chat screen shows it when it opens.
    private func showRecent(_ conversation: ChatConversation) async {
        baseline = conversation.lastSeq
        guard let page = try? await chat.messages(in: conversation.id, limit: 10), !page.isEmpty else { return }
        Console.say("— earlier in this conversation (/history for more) —")
        for message in page { show(message, history: true) }
        // From here on, only what comes after the page is news.
        baseline = page.compactMap(\.seq).max() ?? baseline
    }

    // MARK: Events

    /// One SDK event. Events of other conversations (the visitor may have several) only move unread counts.
    func handle(_ event: ChatEvent) {
        let current = conversation?.id
        switch event {
        case .connectionChanged(let state):
            showConnection(state)
        case .messagesChanged(let id, let messages) where id == current:
            for message in messages.sorted(by: { ($0.seq ?? .max) < ($1.seq ?? .max) }) { show(message) }
        case .sendStateChanged(_, let clientMessageId, .wedged(let code, let message)) where echoes[clientMessageId] != nil:
            // The server refused it for good (retrying would not help): say why.
            Console.say("  ✗ not delivered (\(code)): \(message)")
        case .typing(let id, let author, let isTyping) where id == current && author.kind != .visitor:
            let name = displayName(author.kind, author.displayName)
            if isTyping, typing.insert(name).inserted {
                Console.say("\(name) is typing…")
            } else if !isTyping {
                typing.remove(name)
            }
        case .readMarker(let id, .agent, let seq) where id == current:
            if seq >= lastVisitorSeq, lastVisitorSeq > seenShown {
                seenShown = lastVisitorSeq
                Console.say("  ✓✓ seen by the team")
            }
        case .conversationStatusChanged(let id, let status) where id == current:
            Console.say(status == .closed ? "— the team closed this conversation —" : "— the conversation is open again —")
        case .resync:
            // The SDK dropped what it had streamed (e.g. after a long gap): read the end of the conversation again;
            // messages already on screen are skipped by their seq.
            guard let current else { return }
            Task {
                for message in (try? await chat.messages(in: current, limit: 50)) ?? [] { show(message) }
            }
        default:
            break
        }
    }

    /// Shows a message when it is news: a team message, or the delivery of one of the visitor's. `history`: the
    /// page shown when the chat opens (the visitor's own messages included).
    func show(_ message: ChatMessage, history: Bool = false) {
        if message.author.kind == .visitor, let id = message.clientMessageId, let delivered = echoes[id] {
            // Our own message: its text is on screen already, only its delivery is news.
            if let seq = message.seq {
                shown.insert(seq)
                lastVisitorSeq = max(lastVisitorSeq, seq)
                if !delivered, message.state == .sent {
                    echoes[id] = true
                    Console.say("  ✓ delivered #\(seq)")
                }
            }
            return
        }
        guard let seq = message.seq, history || seq > baseline, shown.insert(seq).inserted else { return }
        // The server stores the welcome as the conversation's first team message — not always its first message: a
        // bot's greeting may come after the visitor's first words. It is on screen already, from the intro.
        if message.author.kind != .visitor, welcomeOnScreen {
            welcomeOnScreen = false
            if message.body == flow.welcomeMessage { return }
        }
        if message.author.kind == .visitor {
            lastVisitorSeq = max(lastVisitorSeq, seq)
            Console.say(history ? "you: \(message.body)" : "you (another device): \(message.body)")
            for attachment in message.attachments { Console.say("    \(attachmentLine(attachment))") }
            return
        }
        typing.removeAll()
        Console.say("\(displayName(message.author.kind, message.author.displayName)): \(message.body)")
        for attachment in message.attachments { Console.say("    \(attachmentLine(attachment))") }
        // Only the newest team message's buttons can be picked (a catch-up may bring older ones later).
        if seq > latestTeamSeq {
            latestTeamSeq = seq
            quickReplies = message.quickReplies
        }
        for (number, reply) in message.quickReplies.enumerated() {
            Console.say("   \(number + 1)) \(reply.label)")
        }
        // On screen means read: the team sees "seen" and the unread badge drops.
        do {
            try chat.markRead(message.conversationId, upTo: seq)
        } catch {
            Console.warn("warning: read marker not saved: \(error.detail)")
        }
    }

    /// Prints the connection when it changes what the visitor should know: connecting (first time), online,
    /// offline (once per outage: retries come and go silently until it is back).
    private func showConnection(_ state: ConnectionState) {
        let line: String
        switch state {
        case .online:
            everOnline = true
            line = "● online"
        case .connecting:
            guard !everOnline else { return }
            line = "… connecting"
        case .offline, .waitingToRetry:
            // Offline before the first connection only means "not started yet".
            guard everOnline || paused else { return }
            line = "○ offline — messages are kept and sent when back online"
        }
        if line != shownConnection {
            shownConnection = line
            Console.say(line)
        }
    }

    /// The team's branding replaces agents' names when the chatflow asks for it.
    private func displayName(_ kind: AuthorKind, _ name: String?) -> String {
        switch kind {
        case .agent: flow.header.useBrandingAsAgentAlias ? flow.header.displayName : (name ?? "Agent")
        case .bot: name ?? flow.bot?.displayName ?? flow.header.displayName
        case .system: "Chatflow"
        case .visitor: "you"
        }
    }

    /// Messages still on their way (a wedged one waits for the visitor: retry, edit or delete).
    var hasPendingSends: Bool {
        let pending = (try? chat.pendingSends()) ?? []
        return pending.contains { if case .wedged = $0.state { false } else { true } }
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
