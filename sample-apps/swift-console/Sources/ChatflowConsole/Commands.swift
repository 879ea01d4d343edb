import Chatflow
import Foundation

/// What the visitor types: an answer to a pending question, a `/command`, a quick-reply number, or a message.
extension ChatSession {
    static let help = """
          TEXT             send a message
          N                pick quick reply N of the team's last question
          /history [N]     the last N messages (default 20) with their delivery state
          /survey R [TEXT] answer the satisfaction survey: rating R, an optional comment
          /search QUERY    search the help center (knowledge base)
          /consent         answer the data-processing question again
          /file PATH       send a file (image, PDF, …): uploaded before the messages typed after it
          /pause           go offline, as when the app is in the background: messages are kept
          /resume          back online: kept messages are sent
          /quit            leave (messages not yet sent are kept and sent next time)
        """

    /// The chat loop: typed lines and changes of the conversation's state in arrival order, until /quit or the end
    /// of input.
    func run(_ inputs: AsyncStream<Input>) async throws(ConsoleError) {
        var drainUntil: Date?
        for await input in inputs {
            switch input {
            case .stateChanged:
                catchUp()
            case .line(let line):
                if try await handle(line: line.trimmingCharacters(in: .whitespaces)) == .quit {
                    return goodbye()
                }
            case .endOfInput:
                // Ctrl-D on a terminal means "leave". A piped script that ended gets a bounded wait for what it
                // sent (the messages are kept either way, and sent the next time the chat connects).
                guard !Console.interactive, waitingForDelivery else { return goodbye() }
                Console.say("(end of input: waiting for queued messages to be delivered)")
                drainUntil = Date().addingTimeInterval(30)
            case .tick:
                catchUp()
            }
            if let deadline = drainUntil, !waitingForDelivery || Date() > deadline { return goodbye() }
        }
    }

    enum Flow { case `continue`, quit }

    /// Errors of one action (a refused message, an unreachable server) are shown and the chat goes on; only a
    /// broken local store ends it.
    func handle(line: String) async throws(ConsoleError) -> Flow {
        do {
            return try await dispatch(line)
        } catch {
            switch error {
            case .storage, .closed, .internal: throw ConsoleError(error, doing: "the chat cannot go on")
            case .consentRequired: Console.warn("error: \(error.detail)\n(type /consent to answer the question again)")
            default: Console.warn("error: \(error.detail)")
            }
            return .continue
        }
    }

    private func dispatch(_ text: String) async throws(ChatflowError) -> Flow {
        if let question = questions.first, !text.hasPrefix("/") {
            try await answer(question, text)
            return .continue
        }
        if text.isEmpty { return .continue }
        if text.hasPrefix("/") { return try await command(text) }
        if let number = Int(text), quickReplies.indices.contains(number - 1) {
            try await send(quickReplies[number - 1].label, reply: quickReplies[number - 1])
        } else {
            try await send(text)
        }
        return .continue
    }

    // MARK: Questions

    func ask(_ question: Question) {
        switch question {
        case .consent:
            Console.say("\(flow.consent.processDataText)\nI agree? [y/n]")
        case .optIn:
            Console.say("\(flow.consent.communicate?.checkboxLabel ?? "Keep me informed") [y/n]")
        case .email:
            Console.say("\(flow.emailCapture.prompt) (your email, or empty to skip)")
        }
    }

    private func answer(_ question: Question, _ text: String) async throws(ChatflowError) {
        let yes = ["y", "yes"].contains(text.lowercased()), no = ["n", "no"].contains(text.lowercased())
        if question != .email, !yes, !no {
            return Console.say("Please answer y or n.")
        }
        switch question {
        case .consent:
            // The version of the text the visitor saw: a changed text asks again.
            let version = flow.consent.processDataTextVersion
            if yes {
                try chat.acceptConsent(chatflowId: flow.chatflowId, shownTextVersion: version)
                Console.say("✓ Thank you: consent recorded.")
            } else {
                try chat.declineConsent(chatflowId: flow.chatflowId, shownTextVersion: version)
                let search = flow.knowledgeBaseEnabled ? " The help center still works (/search)." : ""
                Console.say("Declined: no message can be sent in this chat.\(search) /consent to change your mind.")
            }
        case .optIn:
            try chat.setCommunicationOptIn(chatflowId: flow.chatflowId, optedIn: yes)
        case .email:
            if !text.isEmpty {
                try await chat.provideEmail(text)
                Console.say("✓ Email saved: the team can reply there.")
            }
        }
        // Decisions are recorded on the device and sent with the queue: resume sends them now.
        if question != .email { try chat.resume() }
        questions.removeFirst()
        if let next = questions.first { ask(next) }
    }

    // MARK: Commands

    private func command(_ text: String) async throws(ChatflowError) -> Flow {
        let parts = text.dropFirst().split(separator: " ", maxSplits: 1)
        let name = parts.first.map(String.init) ?? ""
        let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch name {
        case "quit", "exit", "q":
            return .quit
        case "help", "h", "?":
            Console.say(Self.help)
        case "history":
            guard let limit = argument.isEmpty ? 20 : Int(argument), limit > 0 else {
                throw .invalidInput("/history N: `\(argument)` is not a positive number")
            }
            try history(limit: limit)
        case "survey":
            try answerSurvey(argument)
        case "search":
            guard !argument.isEmpty else { throw .invalidInput("/search QUERY: what should be searched?") }
            try await search(argument)
        case "consent":
            questions.removeAll { $0 == .consent }
            questions.insert(.consent, at: 0)
            ask(.consent)
        case "file":
            guard !argument.isEmpty else { throw .invalidInput("/file PATH: which file?") }
            try await sendFile(URL(fileURLWithPath: argument))
        case "pause":
            // What an app does when it goes to the background: the connection closes, messages stay queued.
            paused = true
            chat.pause()
            Console.say("paused: messages are kept on this device until /resume")
        case "resume":
            // Foreground again (or the network is back): connect, catch up and send what is queued, now.
            paused = false
            try chat.resume()
        default:
            throw .invalidInput("unknown command /\(name): /help lists them")
        }
        return .continue
    }

    /// The last `limit` messages of the conversation's state, with their delivery.
    private func history(limit: Int) throws(ChatflowError) {
        catchUp()
        guard let observed, let state = observed.state else {
            return Console.say("No conversation yet: your first message starts one.")
        }
        let page = state.messages.suffix(limit)
        Console.say("— last \(page.count) message(s) —")
        for item in page {
            let message = item.message
            let who = displayName(message.author.kind, message.author.displayName)
            Console.say("  \(message.seq.map { "#\($0)" } ?? "  ") \(who): \(message.body)  [\(item.delivery.label)]")
        }
        if page.count < limit, state.details.hasEarlier {
            // The state holds the latest messages; older ones join it (from the server when the device lacks them).
            try observed.loadEarlier(limit - page.count)
            Console.say("(older messages are being loaded: /history \(limit) again shows them)")
        }
    }

    /// Answers the pending satisfaction survey, queued like a message.
    private func answerSurvey(_ argument: String) throws(ChatflowError) {
        catchUp()
        guard let conversation, let survey = shown?.details.pendingSurvey else {
            return Console.say("No survey to answer.")
        }
        let parts = argument.split(separator: " ", maxSplits: 1)
        guard let rating = parts.first.flatMap({ Int($0) }) else {
            let scale = "\(survey.prompt.scaleMin) to \(survey.prompt.scaleMax)"
            throw .invalidInput("/survey RATING [COMMENT]: a rating from \(scale), then an optional comment")
        }
        let comment = parts.count > 1 ? String(parts[1]) : nil
        let echo = try chat.answerSurvey(in: conversation.id, surveySeq: survey.seq, rating: rating, comment: comment)
        echoed(echo)
        Console.say("you: \(echo.body)")
        Console.say(paused ? "  … queued: sent when back online" : "  … queued")
    }

    /// Syncs the help center to the device once (then search works offline), and searches it.
    private func search(_ query: String) async throws(ChatflowError) {
        guard flow.knowledgeBaseEnabled, let kbId = flow.knowledgeBaseId else {
            return Console.say("This chat has no help center to search.")
        }
        if !knowledgeBaseSynced {
            do {
                let report = try await chat.syncKnowledgeBase(kbId: kbId)
                knowledgeBaseSynced = true
                Console.say("(help center: \(report.articles) articles on this device)")
            } catch where error.isRetryable {
                // Offline: the search below uses what was synced before, or fails with the network error.
            }
        }
        let results = try await chat.searchKnowledgeBase(query, language: flow.language, limit: 5)
        guard !results.hits.isEmpty else { return Console.say("No article matches “\(query)”.") }
        for (number, hit) in results.hits.enumerated() {
            Console.say("  \(number + 1). \(hit.title)\n     \(hit.markedSnippet)\n     \(hit.url)")
        }
    }

    // MARK: Sending

    /// Whether the visitor may write; says why not.
    private func maySend() throws(ChatflowError) -> Bool {
        // Ask before opening a conversation the visitor could not write in.
        guard try chat.consentState(chatflowId: flow.chatflowId).canSend else {
            if questions.first == .consent { Console.say("Please answer the question above first (y/n).") } else {
                Console.say("You declined the data-processing notice: no message can be sent (/consent to change).")
            }
            return false
        }
        return true
    }

    /// Sends a file (an app: the photo picker's file URL). The SDK copies it before this returns.
    private func sendFile(_ url: URL) async throws(ChatflowError) {
        guard FileManager.default.fileExists(atPath: url.path) else { throw .invalidInput("/file: no file at \(url.path)") }
        guard try maySend() else { return }
        let conversation = try await currentConversation()
        let echo = try await chat.sendFile(url, in: conversation.id)
        echoed(echo)
        Console.say("you: \(echo.attachments.map { attachmentLine($0) }.joined(separator: ", "))")
        Console.say(paused ? "  … queued: sent when back online" : "  … queued")
    }

    /// Sends a message (or a quick reply), opening the conversation on the first one.
    private func send(_ text: String, reply: QuickReply? = nil) async throws(ChatflowError) {
        guard try maySend() else { return }
        let conversation = try await currentConversation()
        // A local echo at once: the message is on the device now and delivered exactly once, whenever possible.
        let echo = if let reply { try chat.send(reply, in: conversation.id) } else { try chat.send(text, in: conversation.id) }
        echoed(echo)
        if !Console.interactive || reply != nil { Console.say("you: \(text)") }
        Console.say(paused ? "  … queued: sent when back online" : "  … queued")
    }

    /// The visitor's message is on screen (typed, or printed here): from now on its delivery is news.
    private func echoed(_ echo: ChatMessage) {
        onScreen[echo.localId] = .queued
        sentHere.insert(echo.localId)
        // Whatever the visitor sent answers the question: its buttons are gone.
        quickReplies = []
    }

    /// The conversation to send in: opened with the first message, and followed from then on.
    private func currentConversation() async throws(ChatflowError) -> ChatConversation {
        let current: ChatConversation
        if let conversation {
            current = conversation
        } else {
            current = try await chat.openConversation(chatflowId: flow.chatflowId)
            conversation = current
        }
        if observed == nil { try await follow(current, continued: false) }
        return current
    }

    func goodbye() {
        // The state may have moved since the loop last looked (a delivery just confirmed): show it before leaving.
        catchUp()
        observed?.stop()
        let pending = (try? chat.pendingSends())?.count ?? 0
        if pending > 0 {
            Console.say("\(pending) message(s) not sent yet: they are kept and sent the next time the chat connects.")
        }
        Console.say("bye")
    }
}

extension SearchHit {
    /// The snippet with the matched words in **bold** (Markdown, as an app would render them).
    var markedSnippet: String {
        var text = ""
        var cursor = snippet.startIndex
        for range in highlightRanges where range.lowerBound >= cursor {
            text += snippet[cursor..<range.lowerBound] + "**" + snippet[range] + "**"
            cursor = range.upperBound
        }
        return text + snippet[cursor...]
    }
}
