import Foundation
import XCTest

@testable import Chatflow

/// The facade's non-messaging surface against the real server: config, resolution, consent, session, errors.
final class ClientTests: XCTestCase {
    nonisolated(unsafe) static var server: TestServer!

    override class func setUp() {
        super.setUp()
        server = try! TestServer()
    }

    override class func tearDown() {
        server = nil
        super.tearDown()
    }

    private func config(url: String? = nil) -> ChatflowConfig {
        ChatflowConfig(
            serverUrl: url ?? Self.server.url, appId: Fixtures["app_id"], environment: .development,
            defaultTag: Fixtures["support.tag"], language: "en")
    }

    private func client(url: String? = nil) throws -> ChatflowClient {
        try ChatflowClient(config: config(url: url), storageDirectory: tempStorage())
    }

    func testStorageDirectoryIsCreatedAndAFileInItsPlaceIsAStorageError() throws {
        // Apple platforms also set its protection class and backup exclusion (StorageProtection.swift).
        let nested = tempStorage().appendingPathComponent("Application Support/chatflow")
        _ = try ChatflowClient(config: config(), storageDirectory: nested)
        XCTAssertTrue(FileManager.default.fileExists(atPath: nested.appendingPathComponent("chatflow.sqlite3").path))
        let file = tempStorage().appendingPathComponent("not-a-directory")
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8)))
        XCTAssertThrowsError(try ChatflowClient(config: config(), storageDirectory: file)) { error in
            guard case ChatflowError.storage(let detail) = error else { return XCTFail("\(error)") }
            // The facade's own step, which runs before the core opens anything.
            XCTAssertTrue(detail.contains("cannot prepare the storage directory"), detail)
            XCTAssertTrue(detail.contains("not-a-directory"), detail)
        }
    }

    func testConfigFromJSONNamesTheWrongField() throws {
        XCTAssertThrowsError(try ChatflowConfig.fromJSON(
            #"{"server_url":"ftp://x","app_id":"a","environment":"development","default_tag":"t"}"#)
        ) { error in
            guard case ChatflowError.config(let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("server_url"), detail)
        }
        let ok = try ChatflowConfig.fromJSON(
            #"{"server_url":"\#(Self.server.url)","app_id":"app_acme","environment":"staging","default_tag":"support"}"#)
        XCTAssertEqual(ok.environment, .staging)
    }

    func testResolvePicksTheHighestPriorityAndExplainSaysWhy() async throws {
        let chat = try client()
        try await chat.refreshChatflows()
        guard case .found(let flow) = try chat.resolve(tag: Fixtures["support.tag"]).outcome else {
            return XCTFail("no chatflow for the support tag")
        }
        XCTAssertEqual(flow.chatflowId, Fixtures.int("support.winner_id"))
        XCTAssertEqual(flow.name, Fixtures["support.winner_name"])

        let why = try chat.explain(tag: Fixtures["support.tag"])
        XCTAssertEqual(why.chosenChatflowId, Fixtures.int("support.winner_id"))
        let verdicts = Dictionary(uniqueKeysWithValues: why.candidates.map { ($0.chatflowId, $0.verdict) })
        XCTAssertEqual(verdicts[Fixtures.int("support.winner_id")], .chosen)
        XCTAssertEqual(verdicts[Fixtures.int("support.disabled_id")], .disabled)
        guard case .lowerPriority = verdicts[Fixtures.int("support.loser_id")] else {
            return XCTFail("overflow chatflow: \(String(describing: verdicts[Fixtures.int("support.loser_id")]))")
        }
        guard case .notFound = try chat.resolve(tag: "no-such-tag").outcome else { return XCTFail("found a chatflow") }
    }

    func testExplicitConsentStates() async throws {
        let chat = try client()
        try await chat.refreshChatflows()
        let id = Fixtures.int("consent.chatflow_id")
        let before = try chat.consentState(chatflowId: id)
        XCTAssertEqual(before.processData.status, .awaitingDecision)
        XCTAssertFalse(before.canSend)
        XCTAssertEqual(try chat.declineConsent(chatflowId: id).processData.status, .declined)
        let accepted = try chat.acceptConsent(chatflowId: id, shownTextVersion: before.processData.textVersion)
        XCTAssertEqual(accepted.processData.status, .accepted)
        XCTAssertTrue(accepted.canSend)
    }

    func testSessionIsCreatedOnDemand() async throws {
        let chat = try client()
        let info = try await chat.ensureSession()
        XCTAssertNotNil(info.visitorId)
        XCTAssertEqual(chat.session, info)
        try await chat.setDeviceInfo()
        try await chat.setChatProperties(["plan": "pro"])
        XCTAssertEqual(try chat.chatProperties()["plan"], "pro")
    }

    func testUnreachableServerIsARetryableNetworkError() async throws {
        let chat = try client(url: "http://127.0.0.1:9")
        do {
            try await chat.refreshChatflows()
            XCTFail("refresh succeeded")
        } catch {
            guard case .network = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.isRetryable)
        }
    }
}
