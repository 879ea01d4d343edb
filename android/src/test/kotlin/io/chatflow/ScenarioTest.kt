package io.chatflow

import io.chatflow.testing.EventRecorder
import io.chatflow.testing.Fixtures
import io.chatflow.testing.TestServer
import io.chatflow.testing.tempStorage
import kotlinx.coroutines.runBlocking
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

/**
 * The cross-language scenario (tests/bindings/README.md), through the Kotlin facade, against the real server.
 * Same steps and fixtures as bindings/ffi/tests/scenario.rs and ios/Tests/ChatflowTests/ScenarioTests.swift.
 */
class ScenarioTest {
    @Test
    fun theWholeConversation() = runBlocking {
        val server = TestServer.start()
        val dir = tempStorage()
        try {
            val config = server.config()
            ChatflowClient.open(config, dir).use { chat -> scenario(chat, server) }
        } finally {
            server.close()
            dir.deleteRecursively()
        }
    }

    private suspend fun scenario(chat: ChatflowClient, server: TestServer) {
        val events = EventRecorder(chat)
        try {
            events.started()
            // Resolve `support`: the enabled chatflow with the highest priority wins; explain says why.
            chat.refreshChatflows()
            val support = assertIs<ResolveOutcome.Found>(chat.resolve(Fixtures["support.tag"]).outcome).chatflow
            assertEquals(Fixtures.long("support.winner_id"), support.chatflowId)
            assertEquals(Fixtures.long("support.winner_id"), chat.explain(Fixtures["support.tag"]).chosenChatflowId)

            // Explicit consent on `billing`: refused before any decision, refused after declining, then accepted.
            val billing = assertIs<ResolveOutcome.Found>(chat.resolve(Fixtures["consent.tag"]).outcome).chatflow
            assertEquals(Fixtures.long("consent.chatflow_id"), billing.chatflowId)
            assertEquals(ProcessDataMode.EXPLICIT, billing.consent.processDataMode)
            val conversation = chat.openConversation(billing.chatflowId)
            val first = Fixtures.text("message.first")
            val refused = assertFailsWith<ChatflowException.ConsentRequired> { chat.send(conversation.id, first) }
            assertEquals(billing.chatflowId, refused.chatflowId)
            chat.declineConsent(billing.chatflowId, billing.consent.processDataTextVersion)
            assertTrue(assertFailsWith<ChatflowException.ConsentRequired> { chat.send(conversation.id, first) }.declined)
            assertTrue(chat.acceptConsent(billing.chatflowId, billing.consent.processDataTextVersion).canSend)

            // Knowledge-base search: Billing offers one; synced to the device, then searched there.
            assertTrue(billing.knowledgeBaseEnabled)
            val kbId = assertNotNull(billing.knowledgeBaseId)
            assertTrue(chat.syncKnowledgeBase(kbId).articles > 0)
            val found = chat.searchKnowledgeBase(Fixtures["scenario.kb_query"], limit = 5)
            assertEquals(Fixtures["scenario.kb_expected_title"], found.hits.firstOrNull()?.title)

            // Send: a local echo at once, then the server's confirmation as an event.
            val echo = chat.send(conversation.id, first)
            assertEquals(MessageState.Queued, echo.state)
            val sent = events.await("confirmation of the first message") { e ->
                (e as? ChatEvent.MessagesChanged)?.messages?.firstOrNull {
                    it.clientMessageId == echo.clientMessageId && it.state == MessageState.Sent
                }
            }
            assertEquals(echo.localId, sent.localId)

            // An agent replies through the agent API: it arrives as an event.
            val replyText = Fixtures["agent.reply"]
            server.agentReply(conversation.id, replyText, Fixtures["agent.token"])
            val reply = events.await("the agent's reply") { e ->
                (e as? ChatEvent.MessagesChanged)?.messages?.firstOrNull { it.body == replyText }
            }
            assertEquals(AuthorKind.AGENT, reply.author.kind)

            // History: one coarse call, ascending, both messages with server seqs.
            val history = chat.messages(conversation.id)
            val bodies = history.map { it.body }
            assertTrue(bodies.indexOf(first) in 0 until bodies.indexOf(replyText), "history: $bodies")
            val seqs = history.mapNotNull { it.seq }
            assertEquals(seqs.sorted(), seqs)
            // The same page straight from the device, for a screen's first frame.
            val onDevice = chat.messagesOnDevice(conversation.id)
            assertTrue(onDevice.complete, "everything is on the device after the realtime delivery")
            assertEquals(history, onDevice.messages)

            // Unread: the reply counts until the visitor reads it.
            assertTrue(chat.unreadCounts().total >= 1)
            chat.markRead(conversation.id)
            events.await("unread back to zero") { e -> (e as? ChatEvent.UnreadCountsChanged)?.takeIf { it.total == 0 } }
            assertEquals(0, chat.unreadCounts().total)

            // The connection dies (server down): a message sent now waits on the device...
            server.stop()
            events.await("connection lost") { e ->
                (e as? ChatEvent.ConnectionChanged)?.takeIf { it.state !is ConnectionState.Online }
            }
            val offlineText = Fixtures.text("message.offline")
            val offline = chat.send(conversation.id, offlineText)
            assertTrue(chat.pendingSends().any { it.clientMessageId == offline.clientMessageId })
            // ...and is delivered exactly once when the server is back (resume skips the backoff wait).
            server.restart()
            chat.resume()
            events.await("offline message delivered", timeoutMs = 30_000) { e ->
                (e as? ChatEvent.MessagesChanged)?.messages?.firstOrNull {
                    it.clientMessageId == offline.clientMessageId && it.state == MessageState.Sent
                }
            }
            assertTrue(chat.pendingSends().isEmpty())
            val after = chat.messages(conversation.id, limit = 100)
            assertEquals(1, after.count { it.body == offlineText }, "delivered once: ${after.map { it.body }}")

            // Logout clears everything on the device.
            val visitor = chat.session?.visitorId
            chat.logout()
            assertTrue(chat.conversations().isEmpty())
            assertTrue(chat.pendingSends().isEmpty())
            assertEquals(0, chat.unreadCounts().total)
            assertNotEquals(visitor, chat.session?.visitorId)
        } finally {
            events.stop()
        }
    }
}
