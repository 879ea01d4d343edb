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
        // APNs keys are strings and its values JSON; an entry that is neither (a local notification may carry a Date)
        // is left out rather than making JSONSerialization fail (on Apple platforms it raises on invalid input).
        var object: [String: Any] = [:]
        for (key, value) in userInfo {
            if let key = key.base as? String, JSONSerialization.isValidJSONObject([value]) {
                object[key] = value
            }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object),
              let json = String(data: data, encoding: .utf8)
        else { return .notOurs }
        return ChatflowBindings.parsePushJson(payloadJson: json)
    }

}
