import Foundation
import XCTest

@testable import Chatflow

/// Collects a client's events and lets a test wait for the one it expects (events before it are skipped).
final class EventRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [ChatEvent] = []
    private var cursor = 0
    private var task: Task<Void, Never>?

    init(_ stream: AsyncStream<ChatEvent>) {
        task = Task { [weak self] in
            for await event in stream { self?.append(event) }
        }
    }

    private func append(_ event: ChatEvent) { lock.withLock { seen.append(event) } }

    /// The first unconsumed event for which `match` returns non-nil; consumes everything up to it.
    private func next<T>(_ match: (ChatEvent) -> T?) -> T? {
        lock.withLock {
            while cursor < seen.count {
                let event = seen[cursor]
                cursor += 1
                if let found = match(event) { return found }
            }
            return nil
        }
    }

    func await<T>(_ what: String, timeout: TimeInterval = 15, _ match: (ChatEvent) -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let found = next(match) { return found }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        let tail = lock.withLock { seen.suffix(12) }
        throw RecorderError.timedOut("no event: \(what) within \(timeout)s; seen: \(Array(tail))")
    }

    /// Waits for the subscription's replay (the connection state comes first), so no later event can be missed.
    func started() async throws {
        _ = try await self.await("the subscription's replay") { event -> Bool? in
            if case .connectionChanged = event { return true } else { return nil }
        }
    }

    func stop() { task?.cancel() }
}

enum RecorderError: Error {
    case timedOut(String)
}
