package io.chatflow

import io.chatflow.testing.EventRecorder
import io.chatflow.testing.Fixtures
import io.chatflow.testing.TestServer
import io.chatflow.testing.tempStorage
import kotlinx.coroutines.runBlocking
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/**
 * The numbers an app reads and passes are signed: sequence numbers are `Long`, counts and page sizes `Int`. The
 * typed declarations below do not compile against unsigned records; the checks after them fail if a number the app
 * passes is wrapped instead of read as documented (a negative page size is the smallest page, a negative seq is
 * before every message).
 */
class NumbersTest {
    @Test
    fun seqsAreLongsCountsAreIntsAndNegativeArgumentsAreReadAsDocumented() = runBlocking<Unit> {
        val server = TestServer.start()
        val dir = tempStorage()
        try {
            ChatflowClient.open(server.config(), dir).use { chat ->
                val events = EventRecorder(chat)
                try {
                    events.started()
                    val conversation = chat.openConversation(Fixtures.long("support.winner_id"))
                    val echo = chat.send(conversation.id, "Hello from the numbers test")
                    events.await("the message sent") { e ->
                        (e as? ChatEvent.MessagesChanged)?.messages?.firstOrNull {
                            it.clientMessageId == echo.clientMessageId && it.state == MessageState.Sent
                        }
                    }
                    server.agentReply(conversation.id, Fixtures["agent.reply"], Fixtures["agent.token"])
                    events.await("the reply unread") { e ->
                        (e as? ChatEvent.UnreadCountsChanged)?.takeIf { it.total == 1 }
                    }

                    val seqs: List<Long> = chat.messages(conversation.id).mapNotNull { it.seq }
                    assertEquals(2, seqs.size, "the message and the reply: $seqs")
                    assertTrue(seqs[0] in 1L until seqs[1], "ascending server seqs: $seqs")
                    val stored: ChatConversation = chat.conversations().first { it.id == conversation.id }
                    val lastSeq: Long = stored.lastSeq
                    val unread: Int = stored.unreadCount
                    val total: Int = chat.unreadCounts().total
                    assertEquals(Triple(seqs[1], 1, 1), Triple(lastSeq, unread, total))

                    // 0 or a negative page size asks for the smallest page: the newest message only.
                    val smallest = chat.messagesOnDevice(conversation.id, limit = -5)
                    assertEquals(listOf(lastSeq), smallest.messages.map { it.seq })
                    assertEquals(listOf(lastSeq), chat.messages(conversation.id, limit = 0).map { it.seq })
                    assertEquals(seqs, chat.messages(conversation.id, limit = Int.MAX_VALUE).map { it.seq })
                    // A negative seq is before every message: an empty page (not the latest one).
                    val before = chat.messagesOnDevice(conversation.id, beforeSeq = -1)
                    assertTrue(before.complete && before.messages.isEmpty(), "$before")
                    assertEquals(emptyList<ChatMessage>(), chat.messages(conversation.id, beforeSeq = Long.MIN_VALUE))
                    assertEquals(listOf(seqs[0]), chat.messages(conversation.id, beforeSeq = lastSeq).map { it.seq })

                    // Read up to a negative seq: nothing is read. Up to the last seq: the reply is.
                    chat.markRead(conversation.id, seq = -1)
                    assertEquals(1, chat.unreadCounts().total)
                    chat.markRead(conversation.id, seq = lastSeq)
                    assertEquals(0, chat.unreadCounts().total)
                    assertEquals(0, chat.conversations().first { it.id == conversation.id }.unreadCount)
                } finally {
                    events.stop()
                }
            }
        } finally {
            server.close()
            dir.deleteRecursively()
        }
    }
}
