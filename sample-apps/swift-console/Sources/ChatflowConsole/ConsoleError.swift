import Chatflow

/// A failure that ends the app: a message for stderr and an exit code (the same codes as the Rust `chatflow` CLI).
struct ConsoleError: Error {
    enum Kind: Int32 {
        case internalError = 1, usage = 2, config = 3, network = 4, refused = 5, consent = 6, notFound = 7
    }

    let kind: Kind
    let message: String
    /// `--help`: the usage on stdout, exit 0.
    var isHelp = false

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    static let help: ConsoleError = {
        var e = ConsoleError(.usage, Options.usage)
        e.isHelp = true
        return e
    }()

    /// An SDK error, with what the app was doing. `ChatflowError.detail` already says what went wrong and what to
    /// do; the case tells which kind of failure it is.
    init(_ error: ChatflowError, doing what: String) {
        let kind: Kind = switch error {
        // A refused certificate is fixed in the trust setup (device CAs, `extra_root_certificates`, pins).
        case .config, .tls: .config
        case .invalidInput: .usage
        case .consentRequired: .consent
        case .network: .network
        case .server: .refused
        case .notFound: .notFound
        case .storage, .closed, .internal: .internalError
        }
        self.init(kind, "\(what): \(error.detail)")
    }

    var exitCode: Int32 { isHelp ? 0 : kind.rawValue }
}
