package io.chatflow

import io.chatflow.testing.Fixtures
import io.chatflow.testing.TestServer
import io.chatflow.testing.tempStorage
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertNull

/** The observable states through the Kotlin facade: a screen and a list follow a whole send → read → reply cycle. */
class StateTest {
    private suspend fun <T : Any> StateFlow<T?>.until(what: String, predicate: (T) -> Boolean): T =
        try {
            withTimeout(30_000) { first { it != null && predicate(it) }!! }
        } catch (e: Exception) {
            throw AssertionError("timed out waiting for $what; last state: $value", e)
        }

    @Test
    fun aScreenAndTheListFollowSendReadAndReply() = runBlocking<Unit> {
        val server = TestServer.start()
        val dir = tempStorage()
        try {
            val config = server.config()
            ChatflowClient.open(config, dir).use { chat ->
                chat.refreshChatflows()
                val conversation = chat.openConversation(Fixtures.long("support.winner_id"))
                chat.observeConversation(conversation.id).use { screen ->
                    chat.observeConversations().use { list ->
                        assertNull(screen.state.value?.messages?.firstOrNull(), "an empty conversation")
                        val echo = chat.send(conversation.id, "Hello from the state test")
                        val sent = screen.state.until("the message stored by the server") { s ->
                            s.messages.any { it.id == echo.localId && it.delivery == Delivery.Sent }
                        }
                        val seq = sent.messages.first { it.id == echo.localId }.message.seq!!
                        server.agentRead(conversation.id, seq, Fixtures["agent.token"])
                        screen.state.until("read by the team") { s ->
                            s.messages.any { it.id == echo.localId && it.delivery == Delivery.ReadByTeam }
                        }
                        server.agentReply(conversation.id, Fixtures["agent.reply"], Fixtures["agent.token"])
                        val replied = screen.state.until("the reply") { s ->
                            s.messages.lastOrNull()?.delivery == Delivery.Received && s.details.unreadCount == 1
                        }
                        assertEquals(Fixtures["agent.reply"], replied.messages.last().message.body)
                        assertEquals(true, replied.details.teamAvailable)
                        val rows = list.state.until("the list row") { l ->
                            l.rows.any { it.lastMessage?.preview == Fixtures["agent.reply"] } && l.totalUnread == 1
                        }
                        assertEquals(conversation.id, rows.rows.first().conversationId)
                        chat.markRead(conversation.id)
                        screen.state.until("the unread count cleared") { it.details.unreadCount == 0 }
                        list.state.until("the list's unread total cleared") { it.totalUnread == 0 }
                    }
                }
            }
        } finally {
            server.close()
            dir.deleteRecursively()
        }
    }

    @Test
    fun theFacadeReducerFollowsTheCoreRule() {
        fun row(id: String, at: Long) = ConversationRow(id, 1, "t", null, ConversationStatus.OPEN, null, 0, at)
        val start = ConversationListState(listOf(row("a", 3), row("b", 2)), 0)
        val moved = start.applying(ConversationListUpdate.Changed(listOf(row("b", 5)), listOf("b", "a"), 2))!!
        assertEquals(listOf("b", "a"), moved.rows.map { it.conversationId })
        assertEquals(5L, moved.rows.first().updatedAt)
        assertEquals(2, moved.totalUnread)
        val replaced = moved.applying(ConversationListUpdate.Changed(listOf(row("a", 4)), null, 2))!!
        assertEquals(listOf(5L, 4L), replaced.rows.map { it.updatedAt }, "no order: same ids in place")
        val gone = replaced.applying(ConversationListUpdate.Changed(emptyList(), listOf("a"), 0))!!
        assertEquals(listOf("a"), gone.rows.map { it.conversationId })
    }
}
