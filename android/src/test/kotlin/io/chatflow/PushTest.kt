package io.chatflow

import io.chatflow.testing.Fixtures
import io.chatflow.testing.TestServer
import io.chatflow.testing.tempStorage
import java.io.File
import java.util.Properties
import kotlinx.coroutines.runBlocking
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.Test

/**
 * `ChatflowClient.parsePush` and `handlePush` on FCM data messages (`RemoteMessage.data`: a flat string map): the
 * shared fixtures in tests/bindings/fixtures/push (`*.properties`) with the outcomes listed in its
 * `expected.properties` and `notifications.properties`; then a cold start against the real server.
 */
class PushTest {
    private val dir = File(System.getenv("CHATFLOW_FIXTURES") ?: error("CHATFLOW_FIXTURES is not set"), "push")

    private fun properties(file: String): Map<String, String> {
        val props = Properties().apply { File(dir, file).reader().use { load(it) } }
        return props.stringPropertyNames().associateWith { props.getProperty(it) }
    }

    /** `conversation ID CHATFLOW_ID SEQ` (`-`: absent) or `not-ours`. */
    private fun target(outcome: String): PushTarget {
        val words = outcome.trim().split(Regex("\\s+"))
        return when {
            words == listOf("not-ours") -> PushTarget.NotOurs
            words.size == 4 && words[0] == "conversation" ->
                PushTarget.Conversation(words[1], words[2].toLongOrNull(), words[3].toLongOrNull())
            else -> error("bad expectation `$outcome`")
        }
    }

    @Test
    fun fcmDataMessagesFromTheSharedFixtures() {
        val fcm = properties("expected.properties").filterKeys { it.endsWith(".properties") }
        assertTrue(fcm.size >= 2, "fixtures: $fcm")
        for ((file, outcome) in fcm) {
            assertEquals(target(outcome), ChatflowClient.parsePush(properties(file)), file)
        }
    }

    @Test
    fun stringValuesOfEveryShape() {
        val ours = mapOf("cf_source" to "chatflow", "cf_conversation_id" to "c1")
        assertEquals(PushTarget.Conversation("c1", null, null), ChatflowClient.parsePush(ours))
        assertEquals(
            PushTarget.Conversation("c1", 7L, 12L),
            ChatflowClient.parsePush(ours + mapOf("cf_chatflow_id" to " 7", "cf_seq" to "12 ")),
        )
        assertEquals(
            PushTarget.Conversation("c1", null, null),
            ChatflowClient.parsePush(ours + mapOf("cf_chatflow_id" to "seven", "cf_seq" to "-1")),
        )
        assertEquals(PushTarget.NotOurs, ChatflowClient.parsePush(emptyMap()))
        assertEquals(PushTarget.NotOurs, ChatflowClient.parsePush(ours + ("cf_source" to "other")))
        assertEquals(PushTarget.NotOurs, ChatflowClient.parsePush(ours + ("cf_conversation_id" to " ")))
        assertEquals(PushTarget.NotOurs, ChatflowClient.parsePush(mapOf("from" to "someone", "\u0000" to "\uFFFF")))
    }

    @Test
    fun handlePushOnADeviceWithoutASessionReadsThePayload() = runBlocking {
        val storage = tempStorage()
        try {
            val config = ChatflowConfig(
                serverUrl = "http://127.0.0.1:9", appId = "a", environment = Environment.DEVELOPMENT, defaultTag = "t",
                language = null,
            )
            ChatflowClient.open(config, storage).use { chat ->
                val fcm = properties("notifications.properties").filterKeys { it.endsWith(".properties") }
                assertTrue(fcm.size >= 3, "fixtures: $fcm")
                for ((file, outcome) in fcm) {
                    val actual = when (val handled = chat.handlePush(properties(file))) {
                        PushHandling.NotOurs -> "not-ours"
                        is PushHandling.Notification -> with(handled.notification) {
                            assertEquals(PushSync.NoSession, sync, file)
                            "$title|$body|$unreadCount"
                        }
                    }
                    assertEquals(outcome, actual, file)
                }
                assertNull(chat.session, "a push created a visitor")
            }
        } finally {
            storage.deleteRecursively()
        }
    }

    /** The app is not running; an agent replies; the push starts a new client on the same storage (a cold start). */
    @Test
    fun handlePushAfterAColdStartCatchesUpTheConversation() = runBlocking {
        val server = TestServer.start()
        val storage = tempStorage()
        try {
            val config = ChatflowConfig(
                serverUrl = server.url, appId = Fixtures["app_id"], environment = Environment.DEVELOPMENT,
                defaultTag = Fixtures["support.tag"], language = "en",
            )
            val conversationId = ChatflowClient.open(config, storage).use { chat ->
                chat.openConversation(Fixtures.long("support.winner_id")).id
            }
            val reply = "Your refund is on its way (kotlin)"
            server.agentReply(conversationId, reply, Fixtures["agent.token"])

            ChatflowClient.open(config, storage).use { chat ->
                val data = mapOf(
                    "cf_source" to "chatflow",
                    "cf_conversation_id" to conversationId,
                    "cf_sender_name" to Fixtures["agent.name"],
                    "cf_unread" to "1",
                ) // no cf_preview: the app disabled previews, the text comes from the catch-up
                val n = assertIs<PushHandling.Notification>(chat.handlePush(data)).notification
                assertIs<PushSync.CaughtUp>(n.sync)
                assertEquals(Fixtures["agent.name"], n.title)
                assertEquals(reply, n.body)
                assertEquals(chat.unreadCounts().total, n.unreadCount)
                assertEquals(Fixtures.long("support.winner_id"), n.chatflowId)
                // Tapping it opens an up-to-date chat: the reply is on the device already.
                val page = chat.messagesOnDevice(conversationId)
                assertTrue(page.complete)
                assertEquals(reply, page.messages.last().body)
                assertEquals(PushHandling.NotOurs, chat.handlePush(mapOf("campaign_id" to "spring-sale")))
            }
        } finally {
            server.close()
            storage.deleteRecursively()
        }
    }
}
