import Foundation
import XCTest

import Chatflow

/// The numbers an app reads and passes are signed: sequence numbers are `Int64`, counts `Int32`, page sizes `Int`.
/// The typed declarations below do not compile against unsigned records; the checks after them fail if a number the
/// app passes is wrapped instead of read as documented (a negative page size is the smallest page, a negative seq is
/// before every message).
final class NumberTests: XCTestCase {
    func testSeqsAreInt64CountsAreInt32AndNegativeArgumentsAreReadAsDocumented() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let chat = try ChatflowClient(config: server.config(), storageDirectory: tempStorage())
        let events = EventRecorder(try chat.events())
        defer { events.stop() }
        try await events.started()

        let conversation = try await chat.openConversation(chatflowId: Fixtures.int("support.winner_id"))
        let echo = try chat.send("Hello from the numbers test", in: conversation.id)
        _ = try await events.await("the message sent") { event -> ChatMessage? in
            guard case .messagesChanged(_, let messages) = event else { return nil }
            return messages.first { $0.clientMessageId == echo.clientMessageId && $0.state == .sent }
        }
        try await server.agentReply(
            conversationId: conversation.id, body: Fixtures["agent.reply"], agentToken: Fixtures["agent.token"])
        _ = try await events.await("the reply unread") { event -> Bool? in
            if case .unreadCountsChanged(_, 1) = event { return true } else { return nil }
        }

        let seqs: [Int64] = try await chat.messages(in: conversation.id).compactMap(\.seq)
        XCTAssertEqual(seqs.count, 2, "the message and the reply: \(seqs)")
        let (first, last) = (try XCTUnwrap(seqs.first), try XCTUnwrap(seqs.last))
        XCTAssertTrue(first >= 1 && first < last, "ascending server seqs: \(seqs)")
        let stored = try XCTUnwrap(try chat.conversations().first { $0.id == conversation.id })
        let lastSeq: Int64 = stored.lastSeq
        let unread: Int32 = stored.unreadCount
        let total: Int32 = try chat.unreadCounts().total
        XCTAssertEqual([lastSeq, Int64(unread), Int64(total)], [last, 1, 1])

        // 0 or a negative page size asks for the smallest page: the newest message only.
        XCTAssertEqual(try chat.messagesOnDevice(in: conversation.id, limit: -5).messages.map(\.seq), [last])
        let smallest = try await chat.messages(in: conversation.id, limit: 0)
        XCTAssertEqual(smallest.map(\.seq), [last])
        // Beyond Int32, clamped: the largest page.
        let largest = try await chat.messages(in: conversation.id, limit: .max)
        XCTAssertEqual(largest.map(\.seq), [first, last])
        // A negative seq is before every message: an empty page (not the latest one).
        let before = try chat.messagesOnDevice(in: conversation.id, before: -1)
        XCTAssertTrue(before.complete && before.messages.isEmpty, "\(before)")
        let beforeAll = try await chat.messages(in: conversation.id, before: .min)
        XCTAssertEqual(beforeAll.count, 0)
        let earlier = try await chat.messages(in: conversation.id, before: lastSeq)
        XCTAssertEqual(earlier.map(\.seq), [first])

        // Read up to a negative seq: nothing is read. Up to the last seq: the reply is.
        try chat.markRead(conversation.id, upTo: -1)
        XCTAssertEqual(try chat.unreadCounts().total, 1)
        try chat.markRead(conversation.id, upTo: lastSeq)
        XCTAssertEqual(try chat.unreadCounts().total, 0)
        XCTAssertEqual(try chat.conversations().first { $0.id == conversation.id }?.unreadCount, 0)
    }
}
