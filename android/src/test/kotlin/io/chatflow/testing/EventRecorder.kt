package io.chatflow.testing

import io.chatflow.ChatEvent
import io.chatflow.ChatflowClient
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import java.util.concurrent.CopyOnWriteArrayList

/** Collects a client's [ChatflowClient.events] and lets a test wait for the event it expects. */
class EventRecorder(chat: ChatflowClient) {
    val all = CopyOnWriteArrayList<ChatEvent>()
    private val fresh = Channel<ChatEvent>(Channel.UNLIMITED)
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    init {
        scope.launch {
            chat.events.collect {
                all += it
                fresh.send(it)
            }
        }
    }

    /** Waits for the subscription's replay (the connection state comes first), so no later event can be missed. */
    suspend fun started() = await("the subscription's replay") { it as? ChatEvent.ConnectionChanged }

    /** Waits (at most [timeoutMs]) for an event for which [match] returns non-null, skipping the others. */
    suspend fun <T : Any> await(what: String, timeoutMs: Long = 15_000, match: (ChatEvent) -> T?): T =
        try {
            withTimeout(timeoutMs) {
                var found: T? = null
                while (found == null) found = match(fresh.receive())
                found
            }
        } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
            throw AssertionError("no event: $what within ${timeoutMs}ms; seen: ${all.takeLast(12)}", e)
        }

    fun stop() = scope.cancel()
}
