import ChatflowBindings
import Foundation

extension ChatflowClient {
    /// Reads a notification's `userInfo` exactly as iOS delivers it (the APNs payload: Apple's `aps` dictionary and
    /// our keys beside it, their values strings or numbers) and says whether it is one of ours and which conversation
    /// to open. Anything else (another SDK's push, a local notification, a malformed payload) is `.notOurs`; it never
    /// throws. Static: a notification service extension can call it without a client.
    ///
    /// ```swift
    /// if case .conversation(let id, _, _) = ChatflowClient.parsePush(userInfo: response.notification.request.content.userInfo) {
    ///     openChat(id)
    /// }
    /// ```
    public static func parsePush(userInfo: [AnyHashable: Any]) -> PushTarget {
        guard let json = json(userInfo: userInfo) else { return .notOurs }
        return ChatflowBindings.parsePushJson(payloadJson: json)
    }

    /// Handles a notification's `userInfo` as iOS delivers it: when it is ours, catches its conversation up from the
    /// server (at most a few seconds; also right after a cold start, the session comes from the device) and returns
    /// the notification to show — title, body and unread count from the device, or from the payload when the server
    /// could not be reached (`notification.sync` says which). Anything else is `.notOurs`. Never throws.
    ///
    /// In a notification service extension, open the client on the app group's directory and replace the content:
    ///
    /// ```swift
    /// if case .notification(let n) = await chat.handlePush(userInfo: request.content.userInfo) {
    ///     content.title = n.title; content.body = n.body
    /// }
    /// ```
    ///
    /// `isolation`: leave the default. It runs the conversion on the caller's actor, so a `userInfo` that belongs to
    /// the caller (the main actor's notification response) is never sent across actors.
    public func handlePush(
        userInfo: [AnyHashable: Any], isolation: isolated (any Actor)? = #isolation
    ) async -> PushHandling {
        guard let json = Self.json(userInfo: userInfo) else { return .notOurs }
        return await raw.handlePushJson(payloadJson: json)
    }

    /// The `userInfo` as JSON text. APNs keys are strings and its values JSON; an entry that is neither (a local
    /// notification may carry a Date) is left out rather than making JSONSerialization fail (on Apple platforms it
    /// raises on invalid input).
    static func json(userInfo: [AnyHashable: Any]) -> String? {
        var object: [String: Any] = [:]
        for (key, value) in userInfo {
            if let key = key.base as? String, JSONSerialization.isValidJSONObject([value]) {
                object[key] = value
            }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
