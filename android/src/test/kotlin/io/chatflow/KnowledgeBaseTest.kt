package io.chatflow

import io.chatflow.testing.Fixtures
import io.chatflow.testing.TestServer
import io.chatflow.testing.tempStorage
import kotlinx.coroutines.runBlocking
import org.junit.Test
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

/** Knowledge base through the facade: sync with progress, search with highlights, article, offline search. */
class KnowledgeBaseTest {
    @Test
    fun syncThenSearchOnlineAndOffline() = runBlocking {
        val server = TestServer.start(Fixtures["kb.seed"])
        val dir = tempStorage()
        try {
            val config = ChatflowConfig(server.url, Fixtures["kb.app_id"], Environment.DEVELOPMENT, Fixtures["kb.tag"], "en")
            ChatflowClient.open(config, dir).use { chat ->
                chat.refreshChatflows()
                val flow = assertIs<ResolveOutcome.Found>(chat.resolve().outcome).chatflow
                assertTrue(flow.knowledgeBaseEnabled)
                val kbId = assertNotNull(flow.knowledgeBaseId)

                val progress = CopyOnWriteArrayList<Pair<Int, Int>>()
                val report = chat.syncKnowledgeBase(kbId) { done, total -> progress += done to total }
                assertTrue(report.articles > 0, "$report")
                assertTrue(progress.isNotEmpty() && progress.last().first == progress.last().second, "$progress")

                val online = chat.searchKnowledgeBase(Fixtures["kb.query"])
                val top = online.hits.first()
                assertEquals(Fixtures["kb.expected_title"], top.title)
                val bold = top.highlightRanges().map { top.snippet.substring(it).lowercase() }
                assertTrue(bold.isNotEmpty() && bold.all { it.isNotBlank() }, "highlights: $bold in ${top.snippet}")
                assertTrue(assertNotNull(chat.article(top.articleId)).body.isNotEmpty())

                // The synced index answers without the server.
                server.stop()
                assertEquals(top.articleId, chat.searchKnowledgeBase(Fixtures["kb.query"]).hits.first().articleId)
            }
        } finally {
            server.close()
            dir.deleteRecursively()
        }
    }
}
