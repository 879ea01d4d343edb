import Foundation
import Observation
import XCTest

import Chatflow

/// The observable models through the Swift facade: a screen and a list follow a whole send → read → reply cycle.
final class StateTests: XCTestCase {
    @MainActor
    private static func until<T>(_ what: String, _ read: () -> T?) async throws -> T {
        for _ in 0..<1500 {
            if let value = read() { return value }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw TimedOut(what: what)
    }

    private struct TimedOut: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for \(what)" }
    }

    func testAScreenAndTheListFollowSendReadAndReply() async throws {
        try await Self.aScreenAndTheListFollowSendReadAndReply()
    }

    /// On the main actor, where the models live (and a static function: the test case itself stays off it).
    @MainActor
    private static func aScreenAndTheListFollowSendReadAndReply() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let config = server.config()
        let chat = try ChatflowClient(config: config, storageDirectory: tempStorage())
        try await chat.refreshChatflows()
        let conversation = try await chat.openConversation(chatflowId: Fixtures.int("support.winner_id"))
        let screen = try chat.observeConversation(conversation.id)
        let list = try chat.observeConversations()
        defer { screen.stop(); list.stop() }

        // Observation tells a view when the state changes.
        let changed = Flag()
        withObservationTracking { _ = screen.state } onChange: { changed.raise() }

        let echo = try chat.send("Hello from the state test", in: conversation.id)
        let sent = try await until("the message stored by the server") {
            screen.state?.messages.first { $0.id == echo.localId && $0.delivery == .sent }
        }
        XCTAssertTrue(changed.raised, "the model announced a change")
        try await server.agentRead(conversationId: conversation.id, seq: try XCTUnwrap(sent.message.seq), agentToken: Fixtures["agent.token"])
        _ = try await until("read by the team") {
            screen.state?.messages.first { $0.id == echo.localId && $0.delivery == .readByTeam }
        }
        try await server.agentReply(conversationId: conversation.id, body: Fixtures["agent.reply"], agentToken: Fixtures["agent.token"])
        let replied = try await until("the reply") { () -> ConversationState? in
            guard let s = screen.state, s.messages.last?.delivery == .received, s.details.unreadCount == 1 else { return nil }
            return s
        }
        XCTAssertEqual(replied.messages.last?.message.body, Fixtures["agent.reply"])
        XCTAssertEqual(replied.details.teamAvailable, true)
        let rows = try await until("the list row") { () -> ConversationListState? in
            guard let l = list.state, l.totalUnread == 1, l.rows.first?.lastMessage?.preview == Fixtures["agent.reply"] else { return nil }
            return l
        }
        XCTAssertEqual(rows.rows.first?.id, conversation.id)
        try chat.markRead(conversation.id)
        _ = try await until("the unread count cleared") { list.state?.totalUnread == 0 && screen.state?.details.unreadCount == 0 ? true : nil }
    }
}

/// Set from the SDK's side, read by the test.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func raise() { lock.withLock { value = true } }
    var raised: Bool { lock.withLock { value } }
}
