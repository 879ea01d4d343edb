import Foundation
import XCTest

import Chatflow

/// `ChatflowClient.parsePush(userInfo:)` on notifications as iOS delivers them: the shared fixtures in
/// tests/bindings/fixtures/push with the outcomes listed in its `expected.properties`. No server.
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
        return .conversation(conversationId: words[1], chatflowId: Int64(words[2]), seq: UInt64(words[3]))
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
}
