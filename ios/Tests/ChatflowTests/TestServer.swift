import Foundation
import XCTest

import Chatflow

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real chatflow-server on 127.0.0.1 with a random port and a temp database, seeded with server/seeds/test.json.
/// Paths come from the environment set by scripts/bindings.sh (CHATFLOW_SERVER_BIN, CHATFLOW_SEED).
final class TestServer: @unchecked Sendable {
    private(set) var url: String = ""
    private var process: Process?
    private let dir: URL
    private let seed: String

    /// `seedFile`: a file name next to CHATFLOW_SEED (e.g. `demo.json`), default the test seed itself.
    init(seedFile: String? = nil) throws {
        let testSeed = try Self.env("CHATFLOW_SEED")
        seed = seedFile.map { URL(fileURLWithPath: testSeed).deletingLastPathComponent().appendingPathComponent($0).path }
            ?? testSeed
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("chatflow-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try launch(bind: "127.0.0.1:0")
    }

    private func launch(bind: String) throws {
        let bin = try Self.env("CHATFLOW_SERVER_BIN")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = ["--db", dir.appendingPathComponent("server.db").path, "--bind", bind, "--seed", seed]
        let out = Pipe()
        p.standardOutput = out
        let log = dir.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        // The first stdout line is exactly `listening on http://127.0.0.1:PORT`.
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        let first = String(decoding: line, as: UTF8.self)
        guard first.hasPrefix("listening on ") else {
            p.terminate()
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw TestServerError.notStarted("first line: \(first)\n\(text)")
        }
        url = String(first.dropFirst("listening on ".count)).trimmingCharacters(in: .whitespaces)
        process = p
    }

    /// Stops the server at once (SIGKILL: a crash, as far as clients can tell): the socket and every connection drop.
    /// Not SIGTERM: Foundation's `Process` on Linux starts children with the test process's signal mask, where
    /// SIGTERM is blocked, so a graceful stop would never be delivered.
    func stop() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    /// Brings the server back on the same port and database.
    func restart() throws {
        stop()
        try launch(bind: String(url.dropFirst("http://".count)))
    }

    /// Posts an agent reply through the agent API.
    func agentReply(conversationId: String, body: String, agentToken: String) async throws {
        var request = URLRequest(url: URL(string: "\(url)/v1/agent/conversations/\(conversationId)/messages")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(agentToken)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["body": body])
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw TestServerError.refused("agent reply: \(status) \(String(decoding: data, as: UTF8.self))")
        }
    }

    /// An agent sends `bytes` as `fileName` with `body`, as the inbox does: declare the upload, send the bytes
    /// (`PATCH` from offset 0), then the reply naming the upload.
    func agentSendsFile(
        conversationId: String, fileName: String, mimeType: String, bytes: Data, body: String, agentToken: String
    ) async throws {
        let uploadId = "swift-\(UUID().uuidString.lowercased())"
        let declaration: [String: Any] = [
            "upload_id": uploadId, "file_name": fileName, "mime_type": mimeType, "size": bytes.count,
            "sha256": sha256Hex(bytes),
        ]
        _ = try await call("POST", "/v1/agent/uploads", token: agentToken,
                           body: try JSONSerialization.data(withJSONObject: declaration))
        var request = URLRequest(url: URL(string: "\(url)/v1/agent/uploads/\(uploadId)")!)
        request.httpMethod = "PATCH"
        request.setValue("Bearer \(agentToken)", forHTTPHeaderField: "Authorization")
        request.setValue("0", forHTTPHeaderField: "Upload-Offset")
        request.setValue("application/offset+octet-stream", forHTTPHeaderField: "Content-Type")
        request.httpBody = bytes
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else { throw TestServerError.refused("upload: \(status) \(String(decoding: data, as: UTF8.self))") }
        let reply: [String: Any] = ["body": body, "attachments": [uploadId]]
        _ = try await call("POST", "/v1/agent/conversations/\(conversationId)/messages", token: agentToken,
                           body: try JSONSerialization.data(withJSONObject: reply))
    }

    /// Closes a conversation as its agent.
    func closeConversation(conversationId: String, agentToken: String) async throws {
        _ = try await call("POST", "/v1/agent/conversations/\(conversationId)/close", token: agentToken, body: nil)
    }

    /// The SDK config of the test app on this server (English, the support tag).
    func config() -> ChatflowConfig {
        ChatflowConfig(
            serverUrl: url, appId: Fixtures["app_id"], environment: .development,
            defaultTag: Fixtures["support.tag"], language: "en")
    }

    /// The agent read the conversation up to `seq`.
    func agentRead(conversationId: String, seq: Int64, agentToken: String) async throws {
        let body = Data("{\"seq\":\(seq)}".utf8)
        _ = try await call("POST", "/v1/agent/conversations/\(conversationId)/read", token: agentToken, body: body)
    }

    /// Turns the satisfaction survey on for a chatflow through the admin API.
    func enableSurvey(chatflowId: Int64, adminToken: String) async throws {
        let path = "/v1/admin/chatflows/\(chatflowId)"
        let flow = String(decoding: try await call("GET", path, token: adminToken, body: nil), as: UTF8.self)
        guard flow.contains("\"csat_survey\":false") else { throw TestServerError.refused("unexpected chatflow: \(flow)") }
        let on = flow.replacingOccurrences(of: "\"csat_survey\":false", with: "\"csat_survey\":true")
        _ = try await call("PUT", path, token: adminToken, body: Data(on.utf8))
    }

    private func call(_ method: String, _ path: String, token: String, body: Data?) async throws -> Data {
        var request = URLRequest(url: URL(string: "\(url)\(path)")!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw TestServerError.refused("\(method) \(path): \(status) \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: dir)
    }

    static func env(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name] else {
            throw TestServerError.missingEnvironment("\(name) is not set: run the Swift suite with scripts/bindings.sh swift")
        }
        return value
    }
}

enum TestServerError: Error {
    case notStarted(String)
    case refused(String)
    case missingEnvironment(String)
}

/// The shared scenario data (tests/bindings/fixtures/scenario.properties).
enum Fixtures {
    static let values: [String: String] = {
        guard let dir = ProcessInfo.processInfo.environment["CHATFLOW_FIXTURES"],
              let text = try? String(contentsOfFile: dir + "/scenario.properties", encoding: .utf8)
        else { return [:] }
        return properties(text)
    }()

    /// `key=value` lines of a fixture file; blank lines and `#` comments skipped.
    static func properties(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return out
    }

    static subscript(_ key: String) -> String {
        guard let v = values[key] else { fatalError("fixture `\(key)` missing (is CHATFLOW_FIXTURES set?)") }
        return v
    }

    static func int(_ key: String) -> Int64 { Int64(self[key])! }

    /// A body with `{lang}` replaced by `swift`.
    static func text(_ key: String) -> String { self[key].replacingOccurrences(of: "{lang}", with: "swift") }
}

/// A fresh directory for a client's database.
func tempStorage() -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chatflow-client-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
