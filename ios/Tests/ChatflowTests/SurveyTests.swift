import Foundation
import XCTest

import Chatflow

/// The satisfaction survey through the Swift facade: the typed prompt after a close, the answer through the queue.
final class SurveyTests: XCTestCase {
    func testTheSurveyIsATypedMessageAndTheAnswerIsDeliveredOnce() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let chatflowId = Fixtures.int("support.winner_id")
        try await server.enableSurvey(chatflowId: chatflowId, adminToken: "cfa_acme_admin_test_token")
        let config = server.config()
        let chat = try ChatflowClient(config: config, storageDirectory: tempStorage())
        let events = EventRecorder(try chat.events())
        defer { events.stop() }
        try await events.started()

        let conversation = try await chat.openConversation(chatflowId: chatflowId)
        let echo = try chat.send("Hello from swift", in: conversation.id)
        _ = try await events.await("the first message sent") { event -> ChatMessage? in
            guard case .messagesChanged(_, let messages) = event else { return nil }
            return messages.first { $0.clientMessageId == echo.clientMessageId && $0.state == .sent }
        }
        try await server.agentReply(conversationId: conversation.id, body: Fixtures["agent.reply"], agentToken: Fixtures["agent.token"])
        try await server.closeConversation(conversationId: conversation.id, agentToken: Fixtures["agent.token"])

        let promptMessage = try await events.await("the survey") { event -> ChatMessage? in
            guard case .messagesChanged(_, let messages) = event else { return nil }
            return messages.first { if case .prompt = $0.survey { true } else { false } }
        }
        guard case .prompt(let prompt) = promptMessage.survey else { return XCTFail("not a prompt") }
        XCTAssertEqual(promptMessage.author.kind, .system)
        XCTAssertEqual(prompt.scaleMax, 5)
        let seq: Int64 = try XCTUnwrap(promptMessage.seq)
        XCTAssertThrowsError(try chat.answerSurvey(in: conversation.id, surveySeq: seq, rating: 9)) { error in
            guard case .invalidInput = error as? ChatflowError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try chat.answerSurvey(in: conversation.id, surveySeq: seq, rating: 300)) { error in
            guard case .invalidInput = error as? ChatflowError else { return XCTFail("\(error)") }
        }
        // Outside the scale whatever the number: refused by the SDK with the value given, never wrapped into the
        // scale (261 is 5 as a byte).
        for rating in [-1, 261, Int(Int32.min)] {
            XCTAssertThrowsError(try chat.answerSurvey(in: conversation.id, surveySeq: seq, rating: rating)) { error in
                guard case .invalidInput(let detail) = error as? ChatflowError else { return XCTFail("\(error)") }
                XCTAssertTrue(detail.contains("between 1 and 5, got \(rating)"), detail)
            }
        }
        for rating in [Int.min, Int.max] {
            XCTAssertThrowsError(try chat.answerSurvey(in: conversation.id, surveySeq: seq, rating: rating)) { error in
                guard case .invalidInput = error as? ChatflowError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try chat.answerSurvey(in: conversation.id, surveySeq: -seq, rating: 4)) { error in
            guard case .notFound = error as? ChatflowError else { return XCTFail("\(error)") }
        }

        let answer = try chat.answerSurvey(in: conversation.id, surveySeq: seq, rating: 4, comment: "Quick and kind")
        guard case .answer(let part) = answer.survey else { return XCTFail("the echo is not an answer") }
        XCTAssertEqual(part.rating, 4)
        let sent = try await events.await("the answer sent") { event -> ChatMessage? in
            guard case .messagesChanged(_, let messages) = event else { return nil }
            return messages.first { $0.clientMessageId == answer.clientMessageId && $0.state == .sent }
        }
        XCTAssertEqual(sent.body, "\u{2605}\u{2605}\u{2605}\u{2605}\u{2606} 4/5\nQuick and kind")
        XCTAssertTrue(try chat.pendingSends().isEmpty)
        // One answer per survey: a second one is refused on the device.
        XCTAssertThrowsError(try chat.answerSurvey(in: conversation.id, surveySeq: seq, rating: 5)) { error in
            guard case .invalidInput = error as? ChatflowError else { return XCTFail("\(error)") }
        }
    }
}
