// STUB of Apple's UserNotifications API surface, for the guide-snippet check on Linux only: declarations with the
// iOS SDK's signatures, bodies that trap. Never shipped, never run. Not our code.
import Foundation

open class UNNotificationContent: @unchecked Sendable {
    open var userInfo: [AnyHashable: Any] { fatalError("stub") }
    open var threadIdentifier: String { fatalError("stub") }
    open var title: String { fatalError("stub") }
    open var body: String { fatalError("stub") }
    open var badge: NSNumber? { fatalError("stub") }
    open func mutableCopy() -> Any { fatalError("stub") }
}

open class UNMutableNotificationContent: UNNotificationContent, @unchecked Sendable {
    override open var threadIdentifier: String { get { fatalError("stub") } set {} }
    override open var title: String { get { fatalError("stub") } set {} }
    override open var body: String { get { fatalError("stub") } set {} }
    override open var badge: NSNumber? { get { fatalError("stub") } set {} }
}

open class UNNotificationRequest: @unchecked Sendable {
    open var identifier: String { fatalError("stub") }
    open var content: UNNotificationContent { fatalError("stub") }
}

open class UNNotification: @unchecked Sendable {
    open var request: UNNotificationRequest { fatalError("stub") }
}

open class UNNotificationResponse: @unchecked Sendable {
    open var notification: UNNotification { fatalError("stub") }
}

public struct UNNotificationPresentationOptions: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    public static let banner = UNNotificationPresentationOptions(rawValue: 1 << 4)
    public static let list = UNNotificationPresentationOptions(rawValue: 1 << 3)
    public static let sound = UNNotificationPresentationOptions(rawValue: 1 << 1)
}

public protocol UNUserNotificationCenterDelegate: AnyObject {
    func userNotificationCenter(_ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse) async
    func userNotificationCenter(_ center: UNUserNotificationCenter, willPresent notification: UNNotification) async
        -> UNNotificationPresentationOptions
}

// The SDK's requirements are `optional` (Objective-C); defaults stand in for that here.
extension UNUserNotificationCenterDelegate {
    public func userNotificationCenter(_ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse) async {}
    public func userNotificationCenter(_ center: UNUserNotificationCenter, willPresent notification: UNNotification) async
        -> UNNotificationPresentationOptions { [] }
}

open class UNUserNotificationCenter: @unchecked Sendable {
    open class func current() -> UNUserNotificationCenter { fatalError("stub") }
    open weak var delegate: (any UNUserNotificationCenterDelegate)?
}

open class UNNotificationServiceExtension {
    public init() {}
    open func didReceive(_ request: UNNotificationRequest,
                         withContentHandler contentHandler: @escaping (UNNotificationContent) -> Void) {}
    open func serviceExtensionTimeWillExpire() {}
}
