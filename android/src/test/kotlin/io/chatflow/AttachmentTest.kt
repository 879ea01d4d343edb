package io.chatflow

import io.chatflow.testing.EventRecorder
import io.chatflow.testing.Fixtures
import io.chatflow.testing.TestServer
import io.chatflow.testing.tempStorage
import kotlinx.coroutines.runBlocking
import org.junit.Test
import java.io.ByteArrayOutputStream
import java.io.DataOutputStream
import java.io.File
import java.security.MessageDigest
import java.util.zip.CRC32
import java.util.zip.DeflaterOutputStream
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** Files through the Kotlin facade against the real server: an image sent before a text, an agent's PDF downloaded. */
class AttachmentTest {
    /** A real RGB PNG (the server decodes it for the thumbnail), written by hand: java.base only. */
    private fun png(width: Int, height: Int): ByteArray {
        val out = ByteArrayOutputStream()
        val data = DataOutputStream(out)
        fun chunk(type: String, body: ByteArray) {
            val crc = CRC32().apply { update(type.toByteArray()); update(body) }
            data.writeInt(body.size); data.write(type.toByteArray()); data.write(body); data.writeInt(crc.value.toInt())
        }
        data.write(byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte(), 13, 10, 26, 10))
        val header = ByteArrayOutputStream().also { h ->
            DataOutputStream(h).apply { writeInt(width); writeInt(height); write(byteArrayOf(8, 2, 0, 0, 0)) }
        }
        chunk("IHDR", header.toByteArray())
        val pixels = ByteArrayOutputStream()
        DeflaterOutputStream(pixels).use { z ->
            for (y in 0 until height) {
                z.write(0) // no filter
                for (x in 0 until width) z.write(byteArrayOf((x * 4).toByte(), (y * 4).toByte(), 0x40))
            }
        }
        chunk("IDAT", pixels.toByteArray())
        chunk("IEND", ByteArray(0))
        return out.toByteArray()
    }

    private fun sha256(bytes: ByteArray) = MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

    @Test
    fun anImageGoesBeforeTheNextTextAndTheAgentsPdfIsDownloadedVerified() = runBlocking<Unit> {
        val server = TestServer.start()
        val dir = tempStorage()
        try {
            val config = server.config()
            ChatflowClient.open(config, dir).use { chat ->
                val events = EventRecorder(chat)
                events.started()
                chat.refreshChatflows()
                val limits = chat.attachmentLimits()
                assertTrue("image/png" in limits.mimeTypes && "application/pdf" in limits.mimeTypes, "$limits")
                val conversation = chat.openConversation(Fixtures.long("support.winner_id"))

                // A screenshot from a file the app deletes right away (the SDK has its copy), then a text.
                val image = png(64, 48)
                val file = File.createTempFile("screen", ".png").apply { writeBytes(image) }
                val echo = chat.sendFile(conversation.id, file, caption = "My screen")
                file.delete()
                val queued = echo.attachments.single()
                assertEquals(Triple("image/png", image.size.toLong(), sha256(image)), Triple(queued.mimeType, queued.size, queued.sha256))
                assertNull(queued.id, "no server id before the upload")
                val text = chat.send(conversation.id, "Sent after the screenshot")

                // The text waits for the file in the queue: once it is sent, both are.
                events.await("the text sent") { e ->
                    (e as? ChatEvent.MessagesChanged)?.messages?.firstOrNull {
                        it.clientMessageId == text.clientMessageId && it.state == MessageState.Sent
                    }
                }
                val history = chat.messages(conversation.id)
                val sentFile = history.single { it.clientMessageId == echo.clientMessageId }
                val sentText = history.single { it.clientMessageId == text.clientMessageId }
                assertEquals(MessageState.Sent, sentFile.state)
                assertTrue(sentFile.seq!! < sentText.seq!!, "the file arrives before the text sent after it")
                val stored = sentFile.attachments.single()
                assertNotNull(stored.id)
                assertEquals(64, stored.image?.width)
                assertTrue(chat.attachmentThumbnail(stored.id!!).length() > 0, "the server's thumbnail is cached")

                // Refused before anything is queued: a declared type the bytes contradict.
                val lying = assertFailsWith<ChatflowException.InvalidInput> {
                    chat.sendFile(conversation.id, "%PDF-1.7\n".toByteArray(), "photo.png", mimeType = "image/png")
                }
                assertTrue("content_mismatch" in lying.message!!, lying.message)

                // The agent answers with a PDF: metadata in the message, bytes on demand, verified.
                val pdf = "%PDF-1.7\n".toByteArray() + ByteArray(40_000) { (it % 251).toByte() }
                server.agentSendsFile(conversation.id, "invoice.pdf", "application/pdf", pdf, "Your invoice", Fixtures["agent.token"])
                val received = events.await("the agent's PDF") { e ->
                    (e as? ChatEvent.MessagesChanged)?.messages?.firstOrNull { m ->
                        m.author.kind == AuthorKind.AGENT && m.attachments.any { it.fileName == "invoice.pdf" }
                    }
                }
                val attachment = received.attachments.single()
                assertEquals(sha256(pdf), attachment.sha256)
                val local = chat.downloadAttachment(attachment.id!!)
                assertContentEquals(pdf, local.readBytes())
                assertEquals(local, chat.downloadAttachment(attachment.id!!), "the second call reads the cache")
            }
        } finally {
            server.close()
            dir.deleteRecursively()
        }
    }
}
