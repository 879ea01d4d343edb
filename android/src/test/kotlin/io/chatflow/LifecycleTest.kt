package io.chatflow

import io.chatflow.testing.Fixtures
import io.chatflow.testing.TestServer
import io.chatflow.testing.tempStorage
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue

/** The app leaving the screen, through the Kotlin facade, against the real server (the core decides, see README). */
class LifecycleTest {
    @Test
    fun aMessageWrittenJustBeforeTheAppLeavesIsSentBeforeTheConnectionCloses() = runBlocking<Unit> {
        val server = TestServer.start()
        val dir = tempStorage()
        try {
            ChatflowClient.open(server.config(), dir).use { chat ->
                chat.refreshChatflows()
                val conversation = chat.openConversation(Fixtures.long("support.winner_id"))
                chat.pause() // as before this existed: paused, the message would wait for the next foreground
                val echo = chat.send(conversation.id, "sent on the way out")
                val outcome = chat.enterBackground()
                assertEquals(0, outcome.stillQueued, "$outcome")
                assertFalse(outcome.interrupted)
                assertTrue(chat.pendingSends().isEmpty())
                val stored = chat.messagesOnDevice(conversation.id).messages.single { it.localId == echo.localId }
                assertEquals(MessageState.Sent, stored.state)
                // Closed after the grace period (the connection manager notices the close a moment later).
                withTimeout(10_000) { while (chat.connectionState != ConnectionState.Offline) delay(20) }
                chat.resume()
            }
        } finally {
            server.close()
            dir.deleteRecursively()
        }
    }
}
