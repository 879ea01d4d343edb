#if canImport(UIKit) && !os(watchOS)
import Foundation
import UIKit

/// Follows the app between foreground and background and tells the client, which decides what to do
/// (``ChatflowClient/enterBackground()``: send what is queued, keep the connection for a grace period, then close).
/// Each background period runs inside a `beginBackgroundTask` that ends when the SDK is done; a return to the
/// foreground calls ``ChatflowClient/resume()``. Attaching does not start the connection: only a return from the
/// background resumes. Keep it as long as the client, e.g. next to it in the app's model:
///
/// ```swift
/// let chat = try ChatflowClient(config: config, storageDirectory: directory)
/// let lifecycle = ChatflowAppLifecycle(client: chat)
/// ```
///
/// Compiled for UIKit platforms only: the Linux tests cover the decisions through
/// ``ChatflowClient/enterBackground()``, not this glue.
@MainActor
public final class ChatflowAppLifecycle {
    private let client: ChatflowClient
    private let tokens = ObserverTokens()
    private var task: UIBackgroundTaskIdentifier = .invalid
    /// Which background period the running task belongs to (a quick return starts a new one).
    private var period = 0
    private var inBackground = false

    public init(client: ChatflowClient) {
        self.client = client
        let center = NotificationCenter.default
        tokens.list = [
            center.addObserver(forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main) {
                [weak self] _ in MainActor.assumeIsolated { self?.didEnterBackground() }
            },
            center.addObserver(forName: UIApplication.willEnterForegroundNotification, object: nil, queue: .main) {
                [weak self] _ in MainActor.assumeIsolated { self?.willEnterForeground() }
            },
        ]
    }

    private func didEnterBackground() {
        inBackground = true
        period += 1
        let current = period
        endTask()
        task = UIApplication.shared.beginBackgroundTask(withName: "chatflow.background") { [weak self] in
            // The OS's time is up: the core stops at its own deadline, which comes first.
            MainActor.assumeIsolated { self?.endTask() }
        }
        let client = self.client
        Task { [weak self] in
            _ = try? await client.enterBackground()
            if self?.period == current { self?.endTask() }
        }
    }

    private func willEnterForeground() {
        guard inBackground else { return }
        inBackground = false
        period += 1
        endTask()
        try? client.resume()
    }

    private func endTask() {
        guard task != .invalid else { return }
        UIApplication.shared.endBackgroundTask(task)
        task = .invalid
    }
}

/// Removes the notification observers when the lifecycle object goes (its own deinit cannot touch main-actor state).
private final class ObserverTokens {
    var list: [NSObjectProtocol] = []

    deinit {
        for token in list { NotificationCenter.default.removeObserver(token) }
    }
}
#endif
