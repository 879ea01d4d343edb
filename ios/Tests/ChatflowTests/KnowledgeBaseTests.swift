import Foundation
import XCTest

@testable import Chatflow

/// Knowledge base through the facade: sync with progress, search with highlights, article, offline search.
final class KnowledgeBaseTests: XCTestCase {
    func testSyncThenSearchOnlineAndOffline() async throws {
        let server = try TestServer(seedFile: Fixtures["kb.seed"])
        defer { server.stop() }
        let config = ChatflowConfig(
            serverUrl: server.url, appId: Fixtures["kb.app_id"], environment: .development,
            defaultTag: Fixtures["kb.tag"], language: "en")
        let chat = try ChatflowClient(config: config, storageDirectory: tempStorage())
        try await chat.refreshChatflows()
        guard case .found(let flow) = try chat.resolve().outcome else { return XCTFail("default tag not resolved") }
        XCTAssertTrue(flow.knowledgeBaseEnabled)
        let kbId = try XCTUnwrap(flow.knowledgeBaseId)

        let progress = ProgressLog()
        let report = try await chat.syncKnowledgeBase(kbId: kbId) { done, total in progress.append(done, total) }
        XCTAssertGreaterThan(report.articles, 0)
        let last = try XCTUnwrap(progress.all.last)
        XCTAssertEqual(last.0, last.1)

        let online = try await chat.searchKnowledgeBase(Fixtures["kb.query"])
        let top = try XCTUnwrap(online.hits.first)
        XCTAssertEqual(top.title, Fixtures["kb.expected_title"])
        let bold = top.highlightRanges.map { String(top.snippet[$0]) }
        XCTAssertFalse(bold.isEmpty, "no highlights in \(top.snippet)")
        XCTAssertFalse(try XCTUnwrap(try chat.article(id: top.articleId)).body.isEmpty)

        // The synced index answers without the server.
        server.stop()
        let offline = try await chat.searchKnowledgeBase(Fixtures["kb.query"])
        XCTAssertEqual(offline.hits.first?.articleId, top.articleId)
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(Int, Int)] = []
    func append(_ done: Int, _ total: Int) { lock.withLock { items.append((done, total)) } }
    var all: [(Int, Int)] { lock.withLock { items } }
}
