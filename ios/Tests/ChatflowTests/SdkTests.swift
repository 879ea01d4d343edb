import ChatflowBindings
import Foundation
import XCTest

@testable import Chatflow

/// Process-wide surface: version, logger bridge, error mapping. No server needed.
final class SdkTests: XCTestCase {
    func testSdkVersionIsTheWorkspaceVersion() {
        XCTAssertNotNil(Chatflow.sdkVersion.range(of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression), Chatflow.sdkVersion)
    }

    func testLogsReachTheAppLoggerAndStopAfterClear() throws {
        let lines = Lines()
        try Chatflow.setLogger(level: .debug) { lines.append($0) }
        let installed = lines.all.first { $0.target == "chatflow_ffi" }
        XCTAssertEqual(installed?.level, .debug)
        XCTAssertTrue(installed?.message.hasPrefix("logger installed") ?? false, "\(lines.all)")
        Chatflow.clearLogger()
        let before = lines.all.count
        try Chatflow.setLogger(level: .error) { lines.append($0) }
        XCTAssertEqual(lines.all.count, before)
        Chatflow.clearLogger()
    }

    func testGeneratedErrorsMapToIdiomaticCases() {
        XCTAssertEqual(ChatflowError(NativeError.Network(detail: "down")), .network("down"))
        let server = ChatflowError(NativeError.Server(status: 503, code: .internal, retryable: true, detail: "busy"))
        XCTAssertTrue(server.isRetryable)
        XCTAssertEqual(server.detail, "busy")
        XCTAssertEqual(
            ChatflowError(NativeError.ConsentRequired(chatflowId: 4, declined: true, detail: "consent")),
            .consentRequired(chatflowId: 4, declined: true, "consent"))
        XCTAssertFalse(ChatflowError.closed("closed").isRetryable)
        let tls = ChatflowError(NativeError.Tls(detail: "unknown issuer"))
        XCTAssertEqual(tls, .tls("unknown issuer"))
        XCTAssertFalse(tls.isRetryable)
    }

    func testTrustOptionsOfTheConfigFile() throws {
        let pin = "r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="
        let base = #""server_url":"https://chat.example.com","app_id":"a","environment":"production","default_tag":"t""#
        let config = try ChatflowConfig.fromJSON("{\(base),\"pinned_spki_sha256\":[\"\(pin)\"]}")
        XCTAssertEqual(config.pinnedSpkiSha256, [pin])
        XCTAssertNil(config.extraRootCertificates)
        XCTAssertThrowsError(try ChatflowConfig.fromJSON("{\(base),\"pinned_spki_sha256\":[\"abc\"]}")) { error in
            guard case .config(let detail) = error as? ChatflowError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("pinned_spki_sha256"), detail)
        }
    }
}

/// A thread-safe list for callbacks arriving on SDK threads.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [LogRecord] = []
    func append(_ record: LogRecord) { lock.withLock { items.append(record) } }
    var all: [LogRecord] { lock.withLock { items } }
}
