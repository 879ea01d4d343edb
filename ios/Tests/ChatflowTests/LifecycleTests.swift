import Foundation
import XCTest

import Chatflow

/// The app leaving the screen, through the Swift facade, against the real server (the core decides, see README).
final class LifecycleTests: XCTestCase {
    func testAMessageWrittenJustBeforeTheAppLeavesIsSentBeforeTheConnectionCloses() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let chat = try ChatflowClient(config: server.config(), storageDirectory: tempStorage())
        try await chat.refreshChatflows()
        let conversation = try await chat.openConversation(chatflowId: Fixtures.int("support.winner_id"))
        chat.pause()  // as before this existed: paused, the message would wait for the next foreground
        let echo = try chat.send("sent on the way out", in: conversation.id)
        let outcome = try await chat.enterBackground()
        XCTAssertEqual(outcome.stillQueued, 0, "\(outcome)")
        XCTAssertFalse(outcome.interrupted)
        XCTAssertEqual(try chat.pendingSends(), [])
        let stored = try chat.messagesOnDevice(in: conversation.id).messages.first { $0.localId == echo.localId }
        XCTAssertEqual(stored?.state, .sent)
        // Times come as `Date` too: the server's time of a message sent a moment ago.
        let age = Date().timeIntervalSince(try XCTUnwrap(stored).createdDate)
        XCTAssertTrue((-5.0...30.0).contains(age), "created \(age) s ago")
        // Closed after the grace period (the connection manager notices the close a moment later).
        for _ in 0..<500 where chat.connectionState != .offline {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        XCTAssertEqual(chat.connectionState, .offline)
        try chat.resume()
    }
}
