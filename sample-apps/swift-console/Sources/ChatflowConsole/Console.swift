import Foundation

/// Everything the chat reacts to, merged into one stream: one loop handles it in order, so the chat's state needs
/// no locks (an iOS app gets the same from SwiftUI's main actor).
enum Input: Sendable {
    case line(String)
    /// stdin closed (Ctrl-D, or the end of a piped script).
    case endOfInput
    /// Sent a few times a second after the end of input, so the loop can stop waiting for queued messages.
    case tick
    /// The observed conversation's state may have changed: the loop reads it and prints what is new.
    case stateChanged
}

enum Console {
    /// stdin is a terminal: the person sees what they type, so it is not echoed back.
    static let interactive = isatty(STDIN_FILENO) != 0

    /// Writes straight to the file descriptor (no stdio buffer): a line shows at once even through a pipe, and
    /// stdout and stderr keep their order.
    static func say(_ text: String) { write(text, to: STDOUT_FILENO) }
    static func warn(_ text: String) { write(text, to: STDERR_FILENO) }

    private static func write(_ text: String, to fd: Int32) {
        var bytes = Array((text.hasSuffix("\n") ? text : text + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }   // stdout closed (e.g. `| head`): nothing sensible left to do with the text
            offset += n
        }
    }

    /// stdin's lines as a stream, and its continuation (`inbox`) for the other inputs: the chat yields
    /// `.stateChanged` into it when the observed conversation changes.
    ///
    /// stdin is read on a thread of its own: `readLine` blocks, and a blocked Swift-concurrency thread would starve
    /// the small cooperative pool that the rest of the app runs on.
    static func inputs() -> (stream: AsyncStream<Input>, inbox: AsyncStream<Input>.Continuation) {
        let (stream, continuation) = AsyncStream.makeStream(of: Input.self)
        Thread {
            while let line = readLine(strippingNewline: true) {
                continuation.yield(.line(line))
            }
            continuation.yield(.endOfInput)
            while case .enqueued = continuation.yield(.tick) {
                Thread.sleep(forTimeInterval: 0.25)
            }
        }.start()
        return (stream, continuation)
    }
}
