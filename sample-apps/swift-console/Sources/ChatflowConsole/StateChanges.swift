import Chatflow

/// What the chat prints when the observed state moves. The screen keeps the state it printed last (`shown`) and
/// prints the difference: new messages, the delivery of the visitor's messages (`✓ sent`, `✓✓ read`, `✗ failed`),
/// the team typing, joining or closing, quick replies, a survey to answer, the team's availability and the
/// connection. A SwiftUI view needs none of this: it draws `observed.state` as it is.
extension ChatSession {
    /// Prints what changed since the state printed last (nothing when the state is the same).
    func catchUp() {
        guard let state = observed?.state, state != shown else { return }
        render(state)
    }

    /// Prints the difference between `state` and the state on screen, then keeps `state` as the one on screen.
    func render(_ state: ConversationState) {
        let before = shown?.details
        let details = state.details
        shown = state
        if before?.connection != details.connection { showConnection(details.connection) }
        let fresh = showDeliveries(state.messages)
        if let before { showTeamMoves(before, details) }
        showTyping(before, details, fresh)
        for item in fresh { showMessage(item) }
        markRead(fresh, in: details.conversationId)
        showOffer(details.quickReplies)
        showSurvey(details.pendingSurvey)
        // The intro showed the chatflow's availability: a first state compares with that.
        showAvailability(was: before.map(\.teamAvailable) ?? flow.availability.available, now: details.teamAvailable)
    }

    /// The end of a conversation continued from before, as a chat screen shows it when it opens. Its messages are
    /// not news: only what the server stores after them is.
    func showEarlier(_ state: ConversationState) {
        baseline = max(baseline, state.messages.compactMap(\.message.seq).max() ?? 0)
        let page = state.messages.suffix(10)
        guard !page.isEmpty else { return }
        Console.say("— earlier in this conversation (/history for more) —")
        for item in page {
            onScreen[item.id] = item.delivery
            showMessage(item, earlier: true)
        }
        if state.details.unreadCount > 0 { markRead(state.details.conversationId) }
    }

    // MARK: Messages

    /// Prints the delivery changes of the messages on screen; returns the messages that are news, to print after.
    private func showDeliveries(_ messages: [MessageItem]) -> [MessageItem] {
        var fresh: [MessageItem] = []
        var read: [Int64] = []
        for item in messages {
            if let was = onScreen[item.id] {
                if was != item.delivery { showDelivery(item, was: was, read: &read) }
                onScreen[item.id] = item.delivery
            } else if let seq = item.message.seq {
                // Stored by the server after the chat started. (Older messages a catch-up stores now are not news,
                // nor are those `/history` loads.)
                guard seq > baseline else { continue }
                fresh.append(item)
                onScreen[item.id] = item.delivery
            } else {
                echoesMet.insert(item.id)
            }
        }
        // One line for every message one read marker covers.
        if !read.isEmpty { Console.say("  ✓✓ read " + read.map { "#\($0)" }.joined(separator: ", ")) }
        return fresh
    }

    /// One of the visitor's messages on screen moved on from `was`. Read ones are gathered in `read`.
    private func showDelivery(_ item: MessageItem, was: Delivery, read: inout [Int64]) {
        let seq = item.message.seq.map { " #\($0)" } ?? ""
        let confirmedBefore = was == .sent || was == .readByTeam
        switch item.delivery {
        case .sent, .readByTeam:
            // Stored and read in one change: both are news.
            if !confirmedBefore { Console.say("  ✓ sent\(seq)") }
            if item.delivery == .readByTeam, let s = item.message.seq { read.append(s) }
        case .failed(let code, let message):
            // Refused by the server for good (retrying as is would not help): say why.
            Console.say("  ✗ failed: \(message) (\(code))")
        case .queued, .sending, .received:
            break
        }
    }

    /// One message as `Name: text`, then its files. `earlier`: part of the page shown when the chat opens.
    func showMessage(_ item: MessageItem, earlier: Bool = false) {
        let message = item.message
        let fromTeam = message.author.kind != .visitor
        // The server stores the welcome as the conversation's first team message — not always its first message: a
        // bot's greeting may come after the visitor's first words. It is on screen already, from the intro.
        if fromTeam, welcomeOnScreen {
            welcomeOnScreen = false
            if message.body == flow.welcomeMessage { return }
        }
        let who = if fromTeam {
            displayName(message.author.kind, message.author.displayName)
        } else {
            earlier || echoesMet.contains(item.id) ? "you" : "you (another device)"
        }
        Console.say("\(who): \(message.body)")
        for attachment in message.attachments { Console.say("    \(attachmentLine(attachment))") }
    }

    /// On screen means read: the team sees "read" and the unread badge drops.
    private func markRead(_ fresh: [MessageItem], in conversationId: String) {
        let fromTeam = fresh.filter { $0.message.author.kind != .visitor }
        guard let newest = fromTeam.compactMap(\.message.seq).max() else { return }
        markRead(conversationId, upTo: newest)
    }

    private func markRead(_ conversationId: String, upTo seq: Int64? = nil) {
        do {
            try chat.markRead(conversationId, upTo: seq)
        } catch {
            Console.warn("warning: read marker not saved: \(error.detail)")
        }
    }

    // MARK: Details

    /// Who of the team started typing, unless their message is in the same change (it ends the typing).
    private func showTyping(_ before: ConversationDetails?, _ details: ConversationDetails, _ fresh: [MessageItem]) {
        let spoke = Set(fresh.map(\.message.author.kind))
        let was = before?.typing ?? []
        let started = details.typing.filter { $0.kind != .visitor && !spoke.contains($0.kind) && !was.contains($0) }
        for author in started {
            Console.say("\(displayName(author.kind, author.displayName)) is typing…")
        }
    }

    /// An agent took the conversation; the team closed or reopened it.
    private func showTeamMoves(_ before: ConversationDetails, _ details: ConversationDetails) {
        // With the team's branding in place of agents' names, the team speaks as one: no one "joins".
        if let agent = details.assignee, agent.id != before.assignee?.id, !flow.header.useBrandingAsAgentAlias {
            Console.say("\(agent.displayName) joined the conversation")
        }
        if details.status != before.status {
            let closed = details.status == .closed
            Console.say(closed ? "— the team closed this conversation —" : "— the conversation is open again —")
        }
    }

    /// The buttons on offer, numbered, under the message that offers them (once: the offer stays until the visitor
    /// writes).
    private func showOffer(_ offer: [QuickReply]) {
        quickReplies = offer
        guard offer != offerShown else { return }
        offerShown = offer
        for (number, reply) in offer.enumerated() {
            Console.say("   \(number + 1)) \(reply.label)")
        }
    }

    /// A satisfaction survey waits for the visitor's answer (its question is the message above).
    private func showSurvey(_ survey: PendingSurvey?) {
        guard let survey, survey.seq != surveyShown else { return }
        surveyShown = survey.seq
        let prompt = survey.prompt
        Console.say("  ☆ /survey \(prompt.scaleMin)-\(prompt.scaleMax) [comment] to answer "
            + "(\(prompt.scaleMin): \(prompt.lowLabel), \(prompt.scaleMax): \(prompt.highLabel))")
    }

    private func showAvailability(was: Bool?, now: Bool?) {
        guard let was, let now, was != now else { return }
        if now {
            Console.say("● the team is available now")
        } else {
            Console.say("○ the team is away now" + (flow.availability.awayMessage.map { ": \($0)" } ?? ""))
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
        if line != connectionShown {
            connectionShown = line
            Console.say(line)
        }
    }
}

extension Delivery {
    /// As `/history` shows it.
    var label: String {
        switch self {
        case .queued: "queued"
        case .sending: "sending"
        case .sent: "sent"
        case .readByTeam: "read"
        case .failed(let code, _): "failed: \(code)"
        case .received: "received"
        }
    }
}
