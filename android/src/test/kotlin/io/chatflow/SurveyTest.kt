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
import kotlin.test.assertTrue

/** The satisfaction survey through the Kotlin facade: the typed prompt after a close, the answer through the queue. */
class SurveyTest {
    @Test
    fun theSurveyIsATypedMessageAndTheAnswerIsDeliveredOnce() = runBlocking<Unit> {
        val server = TestServer.start()
        val dir = tempStorage()
        try {
            server.enableSurvey(Fixtures.long("support.winner_id"), "cfa_acme_admin_test_token")
            val config = server.config()
            ChatflowClient.open(config, dir).use { chat ->
                val events = EventRecorder(chat)
                events.started()
                val conversation = chat.openConversation(Fixtures.long("support.winner_id"))
                val echo = chat.send(conversation.id, "Hello from kotlin")
                events.await("the first message sent") { e ->
                    (e as? ChatEvent.MessagesChanged)?.messages?.firstOrNull {
                        it.clientMessageId == echo.clientMessageId && it.state == MessageState.Sent
                    }
                }
                server.agentReply(conversation.id, Fixtures["agent.reply"], Fixtures["agent.token"])
                server.closeConversation(conversation.id, Fixtures["agent.token"])
                val promptMessage = events.await("the survey") { e ->
                    (e as? ChatEvent.MessagesChanged)?.messages?.firstOrNull { it.survey is MessageSurvey.Prompt }
                }
                val prompt = assertIs<MessageSurvey.Prompt>(promptMessage.survey).v1
                assertEquals(AuthorKind.SYSTEM, promptMessage.author.kind)
                assertEquals(5, prompt.scaleMax)
                val seq: Long = promptMessage.seq!!
                assertFailsWith<ChatflowException.InvalidInput> { chat.answerSurvey(conversation.id, seq, 9) }
                assertFailsWith<ChatflowException.InvalidInput> { chat.answerSurvey(conversation.id, seq, 300) }
                // Outside the scale whatever the number: refused by the SDK with the value given, never wrapped into
                // the scale (261 is 5 as a byte).
                for (rating in listOf(-1, 261, Int.MIN_VALUE)) {
                    val refused = assertFailsWith<ChatflowException.InvalidInput> {
                        chat.answerSurvey(conversation.id, seq, rating)
                    }
                    assertTrue("between 1 and 5, got $rating" in refused.message.orEmpty(), refused.message)
                }
                assertFailsWith<ChatflowException.NotFound> { chat.answerSurvey(conversation.id, -seq, 4) }

                val answer = chat.answerSurvey(conversation.id, seq, 4, "Quick and kind")
                val part = assertIs<MessageSurvey.Answer>(answer.survey).v1
                assertEquals(4, part.rating)
                val sent = events.await("the answer sent") { e ->
                    (e as? ChatEvent.MessagesChanged)?.messages?.firstOrNull {
                        it.clientMessageId == answer.clientMessageId && it.state == MessageState.Sent
                    }
                }
                assertEquals("\u2605\u2605\u2605\u2605\u2606 4/5\nQuick and kind", sent.body)
                assertTrue(chat.pendingSends().isEmpty())
                assertFailsWith<ChatflowException.InvalidInput> { chat.answerSurvey(conversation.id, seq, 5) }
            }
        } finally {
            server.close()
            dir.deleteRecursively()
        }
    }
}
