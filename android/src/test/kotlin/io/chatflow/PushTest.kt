package io.chatflow

import java.io.File
import java.util.Properties
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.junit.Test

/**
 * `ChatflowClient.parsePush` on FCM data messages (`RemoteMessage.data`: a flat string map): the shared fixtures in
 * tests/bindings/fixtures/push (`*.properties`) with the outcomes listed in its `expected.properties`. No server.
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
                PushTarget.Conversation(words[1], words[2].toLongOrNull(), words[3].toULongOrNull())
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
            PushTarget.Conversation("c1", 7L, 12uL),
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
}
