import Foundation
import XCTest

import Chatflow

/// `ChatflowClient.parsePush(userInfo:)` and `handlePush(userInfo:)` on notifications as iOS delivers them: the shared
/// fixtures in tests/bindings/fixtures/push with the outcomes listed in its `expected.properties` and
/// `notifications.properties`; then a cold start against the real server.
final class PushTests: XCTestCase {
    private var dir: URL {
        get throws {
            let root = try XCTUnwrap(ProcessInfo.processInfo.environment["CHATFLOW_FIXTURES"], "CHATFLOW_FIXTURES")
            return URL(fileURLWithPath: root).appendingPathComponent("push")
        }
    }

    private func properties(_ file: String) throws -> [String: String] {
        Fixtures.properties(try String(contentsOf: try dir.appendingPathComponent(file), encoding: .utf8))
    }

    /// `conversation ID CHATFLOW_ID SEQ` (`-`: absent) or `not-ours`.
    private func target(_ outcome: String) -> PushTarget? {
        let words = outcome.split(separator: " ").map(String.init)
        if words == ["not-ours"] { return .notOurs }
        guard words.count == 4, words[0] == "conversation" else { return nil }
        return .conversation(conversationId: words[1], chatflowId: Int64(words[2]), seq: Int64(words[3]))
    }

    /// APNs payloads (`*.json`) become a `userInfo` the way iOS builds it, from the JSON; FCM data maps
    /// (`*.properties`) are what a Firebase data message's `userInfo` holds on iOS: strings at the top level.
    func testNotificationsFromTheSharedFixtures() throws {
        var checked = 0
        for (file, outcome) in try properties("expected.properties").sorted(by: { $0.key < $1.key }) {
            let userInfo: [AnyHashable: Any]
            if file.hasSuffix(".json") {
                let data = try Data(contentsOf: try dir.appendingPathComponent(file))
                userInfo = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [AnyHashable: Any], file)
            } else if file.hasSuffix(".properties") {
                userInfo = try properties(file)
            } else {
                continue  // not JSON: no userInfo can hold it (the Rust tests read it as text)
            }
            XCTAssertEqual(ChatflowClient.parsePush(userInfo: userInfo), try XCTUnwrap(target(outcome)), file)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 7)
    }

    func testUserInfoWithValuesThatAreNotJSON() {
        let ours: [AnyHashable: Any] = [
            "aps": ["alert": "New message", "badge": 2],
            "cf_source": "chatflow",
            "cf_conversation_id": "c1",
            "cf_seq": NSNumber(value: 12),
            "cf_chatflow_id": 7,
            "sent_at": Date(),                 // a local notification may carry anything
            42: "a key that is not a string",
        ]
        XCTAssertEqual(ChatflowClient.parsePush(userInfo: ours), .conversation(conversationId: "c1", chatflowId: 7, seq: 12))
        XCTAssertEqual(ChatflowClient.parsePush(userInfo: [:]), .notOurs)
        XCTAssertEqual(ChatflowClient.parsePush(userInfo: ["when": Date(), 1: 2]), .notOurs)
        XCTAssertEqual(ChatflowClient.parsePush(userInfo: ["cf_source": "chatflow", "cf_conversation_id": Date()]), .notOurs)
        XCTAssertEqual(ChatflowClient.parsePush(userInfo: ["cf_source": true, "cf_conversation_id": "c1"]), .notOurs)
    }

    func testFlatStringMap() {
        // A userInfo whose values are all strings (as some senders deliver them) reads the same.
        XCTAssertEqual(
            ChatflowClient.parsePush(userInfo: ["cf_source": "chatflow", "cf_conversation_id": "c1", "cf_seq": "7"]),
            .conversation(conversationId: "c1", chatflowId: nil, seq: 7))
        XCTAssertEqual(ChatflowClient.parsePush(userInfo: ["from": "someone"]), .notOurs)
    }

    /// A `userInfo` as iOS builds it from a fixture: the JSON object of an APNs payload, the string map of an FCM one.
    private func userInfo(_ file: String) throws -> [AnyHashable: Any]? {
        if file.hasSuffix(".json") {
            let data = try Data(contentsOf: try dir.appendingPathComponent(file))
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [AnyHashable: Any], file)
        }
        return file.hasSuffix(".properties") ? try properties(file) : nil
    }

    func testHandlePushOnADeviceWithoutASessionReadsThePayload() async throws {
        let config = ChatflowConfig(
            serverUrl: "http://127.0.0.1:9", appId: "a", environment: .development, defaultTag: "t", language: nil)
        let chat = try ChatflowClient(config: config, storageDirectory: tempStorage())
        var checked = 0
        for (file, outcome) in try properties("notifications.properties").sorted(by: { $0.key < $1.key }) {
            guard let userInfo = try userInfo(file) else { continue }
            let actual: String
            switch await chat.handlePush(userInfo: userInfo) {
            case .notOurs:
                actual = "not-ours"
            case .notification(let n):
                XCTAssertEqual(n.sync, .noSession, file)
                actual = "\(n.title)|\(n.body)|\(n.unreadCount)"
            }
            XCTAssertEqual(actual, outcome, file)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 9)
        XCTAssertNil(chat.session, "a push created a visitor")
    }

    /// The app is not running; an agent replies; the push starts a new client on the same storage (a cold start).
    func testHandlePushAfterAColdStartCatchesUpTheConversation() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let storage = tempStorage()
        let config = server.config()
        let conversationId: String = try await { () async throws -> String in
            let chat = try ChatflowClient(config: config, storageDirectory: storage)
            return try await chat.openConversation(chatflowId: Fixtures.int("support.winner_id")).id
        }()  // that client is released: the app is gone
        let reply = "Your refund is on its way (swift)"
        try await server.agentReply(conversationId: conversationId, body: reply, agentToken: Fixtures["agent.token"])

        let chat = try ChatflowClient(config: config, storageDirectory: storage)
        // The APNs payload without a preview (the app disabled previews): the text comes from the catch-up.
        let userInfo: [AnyHashable: Any] = [
            "aps": ["alert": ["title": Fixtures["agent.name"], "body": "New message"], "badge": 1, "mutable-content": 1],
            "cf_source": "chatflow",
            "cf_conversation_id": conversationId,
            "cf_sender_name": Fixtures["agent.name"],
            "cf_unread": 1,
        ]
        guard case .notification(let n) = await chat.handlePush(userInfo: userInfo) else {
            return XCTFail("our payload was not recognised")
        }
        guard case .caughtUp = n.sync else { return XCTFail("not caught up: \(n.sync)") }
        XCTAssertEqual(n.title, Fixtures["agent.name"])
        XCTAssertEqual(n.body, reply)
        XCTAssertEqual(n.unreadCount, try chat.unreadCounts().total)
        XCTAssertEqual(n.chatflowId, Fixtures.int("support.winner_id"))
        // Tapping it opens an up-to-date chat: the reply is on the device already.
        let page = try chat.messagesOnDevice(in: conversationId)
        XCTAssertTrue(page.complete)
        XCTAssertEqual(page.messages.last?.body, reply)
        let foreign = await chat.handlePush(userInfo: ["campaign_id": "spring-sale"])
        XCTAssertEqual(foreign, .notOurs)
    }
}
