import Foundation
import XCTest

@testable import Chatflow

/// The cross-language scenario (tests/bindings/README.md), through the Swift facade, against the real server.
/// Same steps and fixtures as bindings/ffi/tests/scenario.rs and android/src/test/kotlin/io/chatflow/ScenarioTest.kt.
final class ScenarioTests: XCTestCase {
    func testTheWholeConversation() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let config = server.config()
        let chat = try ChatflowClient(config: config, storageDirectory: tempStorage())
        let events = EventRecorder(try chat.events())
        defer { events.stop() }
        try await events.started()

        // Resolve `support`: the enabled chatflow with the highest priority wins; explain says why.
        try await chat.refreshChatflows()
        guard case .found(let support) = try chat.resolve(tag: Fixtures["support.tag"]).outcome else {
            return XCTFail("support tag not resolved")
        }
        XCTAssertEqual(support.chatflowId, Fixtures.int("support.winner_id"))
        XCTAssertEqual(try chat.explain(tag: Fixtures["support.tag"]).chosenChatflowId, Fixtures.int("support.winner_id"))

        // Explicit consent on `billing`: refused before any decision, refused after declining, then accepted.
        guard case .found(let billing) = try chat.resolve(tag: Fixtures["consent.tag"]).outcome else {
            return XCTFail("billing tag not resolved")
        }
        XCTAssertEqual(billing.chatflowId, Fixtures.int("consent.chatflow_id"))
        XCTAssertEqual(billing.consent.processDataMode, .explicit)
        let conversation = try await chat.openConversation(chatflowId: billing.chatflowId)
        let first = Fixtures.text("message.first")
        XCTAssertThrowsError(try chat.send(first, in: conversation.id)) { error in
            XCTAssertEqual(error as? ChatflowError, .consentRequired(
                chatflowId: billing.chatflowId, declined: false, (error as? ChatflowError)?.detail ?? ""))
        }
        let version = billing.consent.processDataTextVersion
        try chat.declineConsent(chatflowId: billing.chatflowId, shownTextVersion: version)
        XCTAssertThrowsError(try chat.send(first, in: conversation.id)) { error in
            guard case .consentRequired(_, true, _) = error as? ChatflowError else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(try chat.acceptConsent(chatflowId: billing.chatflowId, shownTextVersion: version).canSend)

        // Knowledge-base search: Billing offers one; synced to the device, then searched there.
        XCTAssertTrue(billing.knowledgeBaseEnabled)
        let kbId = try XCTUnwrap(billing.knowledgeBaseId)
        let synced = try await chat.syncKnowledgeBase(kbId: kbId)
        XCTAssertGreaterThan(synced.articles, 0)
        let found = try await chat.searchKnowledgeBase(Fixtures["scenario.kb_query"], limit: 5)
        XCTAssertEqual(found.hits.first?.title, Fixtures["scenario.kb_expected_title"])

        // Send: a local echo at once, then the server's confirmation as an event.
        let echo = try chat.send(first, in: conversation.id)
        XCTAssertEqual(echo.state, .queued)
        let sent = try await events.await("confirmation of the first message") { event -> ChatMessage? in
            guard case .messagesChanged(_, let messages) = event else { return nil }
            return messages.first { $0.clientMessageId == echo.clientMessageId && $0.state == .sent }
        }
        XCTAssertEqual(sent.localId, echo.localId)

        // An agent replies through the agent API: it arrives as an event.
        let replyText = Fixtures["agent.reply"]
        try await server.agentReply(conversationId: conversation.id, body: replyText, agentToken: Fixtures["agent.token"])
        let reply = try await events.await("the agent's reply") { event -> ChatMessage? in
            guard case .messagesChanged(_, let messages) = event else { return nil }
            return messages.first { $0.body == replyText }
        }
        XCTAssertEqual(reply.author.kind, .agent)

        // History: one coarse call, ascending, both messages with server seqs.
        let history = try await chat.messages(in: conversation.id)
        let bodies = history.map(\.body)
        let firstIndex = try XCTUnwrap(bodies.firstIndex(of: first))
        let replyIndex = try XCTUnwrap(bodies.firstIndex(of: replyText))
        XCTAssertLessThan(firstIndex, replyIndex)
        let seqs = history.compactMap(\.seq)
        XCTAssertEqual(seqs, seqs.sorted())
        // The same page straight from the device, for a screen's first frame.
        let onDevice = try chat.messagesOnDevice(in: conversation.id)
        XCTAssertTrue(onDevice.complete, "everything is on the device after the realtime delivery")
        XCTAssertEqual(onDevice.messages, history)

        // Unread: the reply counts until the visitor reads it.
        XCTAssertGreaterThanOrEqual(try chat.unreadCounts().total, 1)
        try chat.markRead(conversation.id)
        _ = try await events.await("unread back to zero") { event -> Bool? in
            if case .unreadCountsChanged(_, 0) = event { return true } else { return nil }
        }
        XCTAssertEqual(try chat.unreadCounts().total, 0)

        // The connection dies (server down): a message sent now waits on the device...
        server.stop()
        _ = try await events.await("connection lost") { event -> Bool? in
            if case .connectionChanged(let state) = event, state != .online { return true } else { return nil }
        }
        let offlineText = Fixtures.text("message.offline")
        let offline = try chat.send(offlineText, in: conversation.id)
        XCTAssertTrue(try chat.pendingSends().contains { $0.clientMessageId == offline.clientMessageId })
        // ...and is delivered exactly once when the server is back (resume skips the backoff wait).
        try server.restart()
        try chat.resume()
        _ = try await events.await("offline message delivered", timeout: 30) { event -> ChatMessage? in
            guard case .messagesChanged(_, let messages) = event else { return nil }
            return messages.first { $0.clientMessageId == offline.clientMessageId && $0.state == .sent }
        }
        XCTAssertEqual(try chat.pendingSends(), [])
        let after = try await chat.messages(in: conversation.id, limit: 100)
        XCTAssertEqual(after.filter { $0.body == offlineText }.count, 1, "delivered once: \(after.map(\.body))")

        // Logout clears everything on the device.
        let visitor = chat.session?.visitorId
        try await chat.logout()
        XCTAssertEqual(try chat.conversations(), [])
        XCTAssertEqual(try chat.pendingSends(), [])
        XCTAssertEqual(try chat.unreadCounts().total, 0)
        XCTAssertNotEqual(chat.session?.visitorId, visitor)
    }
}
