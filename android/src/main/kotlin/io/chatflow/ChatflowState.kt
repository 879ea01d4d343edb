package io.chatflow

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * A conversation screen's state, kept up to date by the SDK: `null` for the moment before the first snapshot, then
 * the conversation's details (title, status, unread count, who is typing, the team's availability, quick replies,
 * the pending survey, the connection) and its latest messages, oldest first, each with one [Delivery] state and an
 * `id` that stays the same from local echo to server copy. Collect [state] in the UI; [close] when the screen goes.
 *
 * ```
 * val screen = chat.observeConversation(conversationId)
 * screen.state.filterNotNull().collect { s -> render(s.details, s.messages) }
 * ```
 * A `StateFlow` holds the latest state only: a slow collector skips to it, the SDK never queues updates for it.
 */
class ObservedConversation internal constructor(private val conversationId: String, limit: Int, client: ChatflowClient) :
    AutoCloseable {
    private val current = MutableStateFlow<ConversationState?>(null)
    val state: StateFlow<ConversationState?> = current.asStateFlow()

    private val observer: ConversationObserver = ffi {
        client.raw.observeConversation(
            conversationId,
            limit,
            object : ConversationStateListener {
                // One SDK thread delivers the updates of an observer in order: read-modify-write is safe here.
                override fun onUpdate(update: ConversationUpdate) {
                    current.value = current.value.applying(update)
                }
            },
        )
    }

    /** Holds [count] (1..500) more older messages in [state] (fetched from the server when the device lacks them). */
    fun loadEarlier(count: Int = 50) = ffi { observer.loadEarlier(count) }

    /** Stops the updates; [state] keeps its last value. */
    override fun close() {
        observer.cancel()
        observer.close()
    }

    override fun toString() = "ObservedConversation($conversationId)"
}

/**
 * The conversation list, kept up to date by the SDK: `null` before the first snapshot, then every stored
 * conversation as a row (title, last message preview and time with its [Delivery], unread count, status), newest
 * activity first, and the total of unread messages. [close] when the list goes.
 */
class ObservedConversationList internal constructor(client: ChatflowClient) : AutoCloseable {
    private val current = MutableStateFlow<ConversationListState?>(null)
    val state: StateFlow<ConversationListState?> = current.asStateFlow()

    private val handle: TaskHandle = ffi {
        client.raw.observeConversations(
            object : ConversationListStateListener {
                override fun onUpdate(update: ConversationListUpdate) {
                    current.value = current.value.applying(update)
                }
            },
        )
    }

    override fun close() {
        handle.cancel()
        handle.close()
    }
}

/** Follows conversation [conversationId] with its latest [limit] messages (1..500, clamped). Starts background sync. */
fun ChatflowClient.observeConversation(conversationId: String, limit: Int = 50): ObservedConversation =
    ObservedConversation(conversationId, limit, this)

/** Follows the conversation list. Starts background sync. */
fun ChatflowClient.observeConversations(): ObservedConversationList = ObservedConversationList(this)

/**
 * The state after [update]: the core's rule (replace the upserted items by id, then arrange them by `order` when
 * present). [ObservedConversation] applies it; public for apps that keep the state in their own store.
 */
fun ConversationState?.applying(update: ConversationUpdate): ConversationState? = when (update) {
    is ConversationUpdate.Snapshot -> update.state
    is ConversationUpdate.Changed -> this?.copy(
        details = update.details ?: details,
        messages = merged(messages, update.upserted, update.order) { it.id },
    )
}

/** The list after [update], by the same rule as [ConversationState.applying]. */
fun ConversationListState?.applying(update: ConversationListUpdate): ConversationListState? = when (update) {
    is ConversationListUpdate.Snapshot -> update.state
    is ConversationListUpdate.Changed -> this?.copy(
        rows = merged(rows, update.upserted, update.order) { it.conversationId },
        totalUnread = update.totalUnread,
    )
}

private fun <T, K> merged(items: List<T>, upserted: List<T>, order: List<K>?, key: (T) -> K): List<T> {
    val fresh = upserted.associateBy(key)
    val replaced = items.map { fresh[key(it)] ?: it }
    if (order == null) {
        val known = items.mapTo(HashSet(), key)
        return replaced + upserted.filter { key(it) !in known }
    }
    val byId = replaced.associateBy(key) + fresh
    return order.mapNotNull { byId[it] }
}
