import ChatflowBindings

/// Every failure of an SDK call. `description` says what went wrong and what to do.
///
/// ```swift
/// do { try await chat.send("Hi", in: conversation) }
/// catch ChatflowError.consentRequired(let chatflowId, _, _) { showConsent(chatflowId) }
/// catch let error as ChatflowError where error.isRetryable { retryLater() }
/// ```
public enum ChatflowError: Error, Equatable, Sendable {
    /// The SDK configuration is wrong (config file, server URL, app id): fix it, retrying will not help.
    case config(String)
    /// An argument is not acceptable (empty or too long message, bad email...): fix the call.
    case invalidInput(String)
    /// The visitor must accept the chatflow's data-processing notice first (`declined`: they refused earlier).
    case consentRequired(chatflowId: Int64, declined: Bool, String)
    /// The server could not be reached. Queued messages are retried automatically; reads can be retried later.
    case network(String)
    /// The server's certificate was refused: its CA is not trusted by the device (nor in the config's
    /// `extra_root_certificates`), it does not name the host, it expired, or it matches none of `pinned_spki_sha256`.
    /// Not retryable: the detail says what to fix. Queued messages stay queued and go out after `resume()` once the
    /// server is trusted.
    case tls(String)
    /// The server refused the request; `code` is the protocol's machine-readable reason (`nil` when the answer was not
    /// the Chatflow protocol at all: check the server URL).
    case server(status: Int, code: ErrorCode?, retryable: Bool, String)
    /// The local database failed (disk full, corrupt file).
    case storage(String)
    /// The conversation, chatflow or article does not exist (or is not visible to this visitor).
    case notFound(String)
    /// The client was closed, or the user logged out during the call: open a new client.
    case closed(String)
    /// A bug in the SDK, or an app callback that threw: the call did not take effect. Report it with the logs.
    case `internal`(String)

    /// True when the same call may succeed later without any change (network down, server busy).
    public var isRetryable: Bool {
        switch self {
        case .network: true
        case .server(_, _, let retryable, _): retryable
        default: false
        }
    }

    /// What went wrong and what to do.
    public var detail: String {
        switch self {
        case .config(let d), .invalidInput(let d), .network(let d), .tls(let d), .storage(let d), .notFound(let d),
             .closed(let d), .internal(let d), .consentRequired(_, _, let d), .server(_, _, _, let d):
            d
        }
    }

    init(_ error: any Error) {
        switch error {
        case let e as ChatflowError:
            self = e
        case let e as NativeError:
            switch e {
            case .Config(let d): self = .config(d)
            case .InvalidInput(let d): self = .invalidInput(d)
            case .ConsentRequired(let id, let declined, let d): self = .consentRequired(chatflowId: id, declined: declined, d)
            case .Network(let d): self = .network(d)
            case .Tls(let d): self = .tls(d)
            case .Server(let status, let code, let retryable, let d):
                self = .server(status: Int(status), code: code, retryable: retryable, d)
            case .Storage(let d): self = .storage(d)
            case .NotFound(let d): self = .notFound(d)
            case .Closed(let d): self = .closed(d)
            case .Internal(let d): self = .internal(d)
            }
        default:
            // A Rust panic caught by UniFFI (or another unexpected failure) before it could reach the app.
            self = .internal("internal error in the Chatflow library: \(error)")
        }
    }
}

extension ChatflowError: CustomStringConvertible {
    public var description: String { detail }
}

#if canImport(Foundation)
import Foundation

extension ChatflowError: LocalizedError {
    public var errorDescription: String? { detail }
}
#endif

/// Runs an FFI call and rethrows its errors as ``ChatflowError``.
@inline(__always)
func ffi<T>(_ body: () throws -> T) throws(ChatflowError) -> T {
    do { return try body() } catch { throw ChatflowError(error) }
}

/// Async twin of ``ffi(_:)``. Cancellation of the calling task cancels the Rust future.
@inline(__always)
func ffiAsync<T>(_ body: () async throws -> T) async throws(ChatflowError) -> T {
    do { return try await body() } catch { throw ChatflowError(error) }
}
