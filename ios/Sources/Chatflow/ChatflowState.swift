import ChatflowBindings
import Foundation
import Observation

public typealias ConversationState = ChatflowBindings.ConversationState
public typealias ConversationDetails = ChatflowBindings.ConversationDetails
public typealias MessageItem = ChatflowBindings.MessageItem
public typealias Delivery = ChatflowBindings.Delivery
public typealias PendingSurvey = ChatflowBindings.PendingSurvey
public typealias ConversationUpdate = ChatflowBindings.ConversationUpdate
public typealias ConversationListState = ChatflowBindings.ConversationListState
public typealias ConversationRow = ChatflowBindings.ConversationRow
public typealias LastMessage = ChatflowBindings.LastMessage
public typealias ConversationListUpdate = ChatflowBindings.ConversationListUpdate

extension MessageItem: Identifiable {}

extension ConversationRow: Identifiable {
    public var id: String { conversationId }
}

/// A conversation screen's state, kept up to date by the SDK: `nil` for the moment before the first snapshot, then
/// the conversation's details (title, status, unread count, who is typing, the team's availability, quick replies,
/// the pending survey, the connection) and its latest messages, oldest first, each with one ``Delivery`` and an `id`
/// that stays the same from local echo to server copy. `@Observable`: a SwiftUI view that reads ``state`` redraws
/// when it changes.
///
/// ```swift
/// let screen = try chat.observeConversation(conversation.id)
/// // in a view: ForEach(screen.state?.messages ?? []) { item in Bubble(item) }
/// ```
/// The model lives on the main actor, like the views that read it: the SDK's updates are applied there, in order, one
/// at a time, so a view never reads a state while it is being replaced, and an observer's `onChange` (which
/// Observation calls just before the new value is stored) can read the new state from a main-actor task it starts.
/// ``stop()`` (or releasing the object) ends the updates. Needs the Observation framework (iOS 17, macOS 14); on
/// earlier systems use ``ChatflowClient/events()``.
@available(iOS 17.0, macOS 14.0, *)
@MainActor
@Observable
public final class ObservedConversation {
    public private(set) var state: ConversationState?

    // Set once in `init`; Sendable, so the nonisolated `deinit` may use it.
    @ObservationIgnored private let observer: ConversationObserver

    init(client: ChatflowClient, conversationId: String, limit: Int) throws(ChatflowError) {
        let listener = Listener()
        observer = try ffi {
            try client.raw.observeConversation(
                conversationId: conversationId, limit: Int32(clamping: limit), listener: listener)
        }
        listener.attach(self)
    }

    deinit { observer.cancel() }

    /// Holds `count` (1...500) more older messages in ``state`` (fetched from the server when the device lacks them).
    public func loadEarlier(_ count: Int = 50) throws(ChatflowError) {
        try ffi { try observer.loadEarlier(count: Int32(clamping: count)) }
    }

    /// Stops the updates; ``state`` keeps its last value.
    public func stop() { observer.cancel() }

    /// Called on the main actor by the listener's gate, one update at a time.
    fileprivate func apply(_ update: ConversationUpdate) { state = state.applying(update) }

    private final class Listener: ConversationStateListener, @unchecked Sendable {
        let gate = UpdateGate<ConversationUpdate>()
        @MainActor func attach(_ model: ObservedConversation) { gate.attach { [weak model] in model?.apply($0) } }
        func onUpdate(update: ConversationUpdate) throws { gate.deliver(update) }
    }
}

/// The conversation list, kept up to date by the SDK: `nil` before the first snapshot, then every stored
/// conversation as a row (title, last message preview and time with its ``Delivery``, unread count, status), newest
/// activity first, and the total of unread messages. `@Observable` on the main actor, like ``ObservedConversation``.
@available(iOS 17.0, macOS 14.0, *)
@MainActor
@Observable
public final class ObservedConversationList {
    public private(set) var state: ConversationListState?

    @ObservationIgnored private let handle: TaskHandle

    init(client: ChatflowClient) throws(ChatflowError) {
        let listener = Listener()
        handle = try ffi { try client.raw.observeConversations(listener: listener) }
        listener.attach(self)
    }

    deinit { handle.cancel() }

    public func stop() { handle.cancel() }

    fileprivate func apply(_ update: ConversationListUpdate) { state = state.applying(update) }

    private final class Listener: ConversationListStateListener, @unchecked Sendable {
        let gate = UpdateGate<ConversationListUpdate>()
        @MainActor func attach(_ model: ObservedConversationList) { gate.attach { [weak model] in model?.apply($0) } }
        func onUpdate(update: ConversationListUpdate) throws { gate.deliver(update) }
    }
}

@available(iOS 17.0, macOS 14.0, *)
@MainActor
extension ChatflowClient {
    /// Follows conversation `conversationId` with its latest `limit` messages (1...500, clamped). Starts
    /// background sync.
    public func observeConversation(_ conversationId: String, limit: Int = 50) throws(ChatflowError)
        -> ObservedConversation
    {
        try ObservedConversation(client: self, conversationId: conversationId, limit: limit)
    }

    /// Follows the conversation list. Starts background sync.
    public func observeConversations() throws(ChatflowError) -> ObservedConversationList {
        try ObservedConversationList(client: self)
    }
}

/// Hands a main-actor model the updates that SDK threads deliver, in order: each one is queued on the main queue
/// (first in, first out; the main actor runs its jobs there), and those that arrive before the model is attached
/// (the snapshot may come before the model's `init` returns) wait until it is.
final class UpdateGate<Update: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var apply: (@MainActor (Update) -> Void)?
    private var early: [Update] = []

    @MainActor
    func attach(_ apply: @escaping @MainActor (Update) -> Void) {
        lock.lock()
        let waiting = early
        early.removeAll()
        self.apply = apply
        lock.unlock()
        for update in waiting { apply(update) }
    }

    func deliver(_ update: Update) {
        lock.lock()
        defer { lock.unlock() }
        guard let apply else { return early.append(update) }
        DispatchQueue.main.async { MainActor.assumeIsolated { apply(update) } }
    }
}

extension Optional where Wrapped == ConversationState {
    /// The state after `update`: the core's rule (replace the upserted items by id, then arrange them by `order`
    /// when present). The models apply it; public for apps that keep the state in their own store.
    public func applying(_ update: ConversationUpdate) -> ConversationState? {
        switch update {
        case .snapshot(let state):
            return state
        case .changed(let details, let upserted, let order):
            guard let state = self else { return nil }
            return ConversationState(
                details: details ?? state.details, messages: merged(state.messages, upserted, order, key: \.id))
        }
    }
}

extension Optional where Wrapped == ConversationListState {
    /// The list after `update`, by the same rule.
    public func applying(_ update: ConversationListUpdate) -> ConversationListState? {
        switch update {
        case .snapshot(let state):
            return state
        case .changed(let upserted, let order, let totalUnread):
            guard let state = self else { return nil }
            return ConversationListState(
                rows: merged(state.rows, upserted, order, key: \.conversationId), totalUnread: totalUnread)
        }
    }
}

func merged<T, K: Hashable>(_ items: [T], _ upserted: [T], _ order: [K]?, key: KeyPath<T, K>) -> [T] {
    let fresh = Dictionary(upserted.map { ($0[keyPath: key], $0) }, uniquingKeysWith: { _, last in last })
    let replaced = items.map { fresh[$0[keyPath: key]] ?? $0 }
    guard let order else {
        let known = Set(items.map { $0[keyPath: key] })
        return replaced + upserted.filter { !known.contains($0[keyPath: key]) }
    }
    var byId = Dictionary(replaced.map { ($0[keyPath: key], $0) }, uniquingKeysWith: { _, last in last })
    byId.merge(fresh) { _, new in new }
    return order.compactMap { byId[$0] }
}
