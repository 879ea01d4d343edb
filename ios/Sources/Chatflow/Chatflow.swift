import ChatflowBindings

/// Severity of a log line, most severe first.
public typealias LogLevel = ChatflowBindings.LogLevel
/// One log line of the SDK: `target` is the Rust module (use it as a category), `message` the text.
public typealias LogRecord = ChatflowBindings.LogRecord

/// Process-wide SDK settings: version and logging.
public enum Chatflow {
    /// The SDK version (`0.1.0`).
    public static var sdkVersion: String { ChatflowBindings.sdkVersion() }

    /// Sends the SDK's logs at `level` and above to `sink`, on any thread (keep it fast; do not call the SDK from it).
    /// Replaces the previous logger. On Apple platforms see ``logToOSLog(level:subsystem:)``.
    public static func setLogger(level: LogLevel, _ sink: @escaping @Sendable (LogRecord) -> Void) throws(ChatflowError) {
        try ffi { try ChatflowBindings.setLogger(logger: ClosureLogger(sink: sink), level: level) }
    }

    /// Stops forwarding logs.
    public static func clearLogger() {
        ChatflowBindings.clearLogger()
    }
}

private final class ClosureLogger: ChatflowBindings.Logger {
    let sink: @Sendable (LogRecord) -> Void
    init(sink: @escaping @Sendable (LogRecord) -> Void) { self.sink = sink }
    func log(record: LogRecord) throws { sink(record) }
}

#if canImport(os)
import os

extension Chatflow {
    /// Forwards the SDK's logs to the unified logging system (Console.app), one category per Rust module.
    public static func logToOSLog(level: LogLevel = .info, subsystem: String = "io.chatflow") throws(ChatflowError) {
        try setLogger(level: level) { record in
            let log = os.Logger(subsystem: subsystem, category: record.target)
            let type: OSLogType = switch record.level {
            case .error: .error
            case .warn: .default
            case .info: .info
            case .debug, .trace: .debug
            }
            log.log(level: type, "\(record.message, privacy: .public)")
        }
    }
}
#endif
