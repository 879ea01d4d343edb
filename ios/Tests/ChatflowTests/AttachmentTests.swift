import Foundation
import XCTest

import Chatflow

/// Files through the Swift facade against the real server: an image sent before a text, an agent's PDF downloaded.
final class AttachmentTests: XCTestCase {
    /// A 1×1 PNG (the server decodes it for the thumbnail).
    static let png = Data(base64Encoded:
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")!

    func testTheHashOfTheTestsIsSHA256() {
        XCTAssertEqual(sha256Hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(sha256Hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testAnImageGoesBeforeTheNextTextAndTheAgentsPdfIsDownloadedVerified() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let config = server.config()
        let chat = try ChatflowClient(config: config, storageDirectory: tempStorage())
        let events = EventRecorder(try chat.events())
        defer { events.stop() }
        try await events.started()
        try await chat.refreshChatflows()
        let limits = try chat.attachmentLimits()
        XCTAssertTrue(limits.mimeTypes.contains("image/png") && limits.mimeTypes.contains("application/pdf"))
        let conversation = try await chat.openConversation(chatflowId: Fixtures.int("support.winner_id"))

        // A screenshot from a file the app deletes right away (the SDK has its copy), then a text.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("screen-\(UUID().uuidString).png")
        try Self.png.write(to: file)
        let echo = try await chat.sendFile(file, fileName: "screen.png", caption: "My screen", in: conversation.id)
        try FileManager.default.removeItem(at: file)
        let queued = try XCTUnwrap(echo.attachments.first)
        XCTAssertEqual(queued.mimeType, "image/png")
        XCTAssertEqual(queued.sha256, sha256Hex(Self.png))
        XCTAssertNil(queued.id, "no server id before the upload")
        let text = try chat.send("Sent after the screenshot", in: conversation.id)

        // The text waits for the file in the queue: once it is sent, both are.
        _ = try await events.await("the text sent") { event -> ChatMessage? in
            guard case .messagesChanged(_, let messages) = event else { return nil }
            return messages.first { $0.clientMessageId == text.clientMessageId && $0.state == .sent }
        }
        let history = try await chat.messages(in: conversation.id)
        let sentFile = try XCTUnwrap(history.first { $0.clientMessageId == echo.clientMessageId })
        let sentText = try XCTUnwrap(history.first { $0.clientMessageId == text.clientMessageId })
        XCTAssertEqual(sentFile.state, .sent)
        XCTAssertLessThan(try XCTUnwrap(sentFile.seq), try XCTUnwrap(sentText.seq), "the file arrives first")
        let stored = try XCTUnwrap(sentFile.attachments.first)
        XCTAssertEqual(stored.image?.width, 1)
        let thumbnail = try await chat.attachmentThumbnail(try XCTUnwrap(stored.id))
        XCTAssertGreaterThan(try Data(contentsOf: thumbnail).count, 0, "the server's thumbnail is cached")

        // Refused before anything is queued: a declared type the bytes contradict.
        do {
            _ = try await chat.sendFile(
                Data("%PDF-1.7\n".utf8), fileName: "photo.png", mimeType: "image/png", in: conversation.id)
            XCTFail("a lying type was accepted")
        } catch {
            // (Not `catch .invalidInput(let message)`: Swift 6.0.3 crashes lowering that pattern in an async test.)
            guard case .invalidInput(let message) = error as? ChatflowError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("content_mismatch"), message)
        }

        // The agent answers with a PDF: metadata in the message, bytes on demand, verified.
        var pdf = Data("%PDF-1.7\n".utf8)
        pdf.append(contentsOf: (0..<40_000).map { UInt8($0 % 251) })
        try await server.agentSendsFile(
            conversationId: conversation.id, fileName: "invoice.pdf", mimeType: "application/pdf", bytes: pdf,
            body: "Your invoice", agentToken: Fixtures["agent.token"])
        let received = try await events.await("the agent's PDF") { event -> ChatMessage? in
            guard case .messagesChanged(_, let messages) = event else { return nil }
            return messages.first { m in m.author.kind == .agent && m.attachments.contains { $0.fileName == "invoice.pdf" } }
        }
        let attachment = try XCTUnwrap(received.attachments.first)
        XCTAssertEqual(attachment.sha256, sha256Hex(pdf))
        let local = try await chat.downloadAttachment(try XCTUnwrap(attachment.id))
        XCTAssertEqual(try Data(contentsOf: local), pdf)
        let again = try await chat.downloadAttachment(try XCTUnwrap(attachment.id))
        XCTAssertEqual(again, local, "the second call reads the cache")
    }
}
