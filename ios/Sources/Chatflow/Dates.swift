import Foundation

// The core keeps times as Unix milliseconds (what it stores and what the server sends); these give them as `Date`
// for views and formatters. The millisecond fields stay for apps that compare or persist them.

extension Date {
    /// The instant `milliseconds` after 1970-01-01 UTC, as the SDK's records carry it.
    public init(unixMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
    }
}

extension ChatMessage {
    /// When the message was written (the server's time once stored, the device's for a local echo).
    public var createdDate: Date { Date(unixMilliseconds: createdAt) }
}

extension ChatConversation {
    public var createdDate: Date { Date(unixMilliseconds: createdAt) }
}

extension ConversationRow {
    /// The newest activity of the conversation: what the list is sorted by.
    public var updatedDate: Date { Date(unixMilliseconds: updatedAt) }
}

extension LastMessage {
    /// When the list row's newest message was written.
    public var date: Date { Date(unixMilliseconds: at) }
}

extension Article {
    public var updatedDate: Date { Date(unixMilliseconds: updatedAt) }
}

extension AvailabilityInfo {
    /// When the team's availability next changes by its hours, if known.
    public var nextChangeDate: Date? { nextChangeAt.map(Date.init(unixMilliseconds:)) }
}

extension CacheInfo {
    /// When the chatflow list was fetched, if ever.
    public var fetchedDate: Date? { fetchedAt.map(Date.init(unixMilliseconds:)) }
}

extension Explanation {
    /// Every candidate hides its launcher until then, if known.
    public var allHiddenUntilDate: Date? { allHiddenUntil.map(Date.init(unixMilliseconds:)) }
}

extension ConnectionState {
    /// When the next connection attempt starts (`.waitingToRetry`), else `nil`.
    public var retryDate: Date? {
        if case .waitingToRetry(let retryAt) = self { return Date(unixMilliseconds: retryAt) }
        return nil
    }
}
