package io.chatflow.bench

import io.chatflow.ChatflowClient
import io.chatflow.ChatflowConfig
import io.chatflow.Environment
import io.chatflow.ResolveOutcome
import io.chatflow.testing.Fixtures
import io.chatflow.testing.TestServer
import io.chatflow.testing.tempStorage
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking

/**
 * Cost of fetching a 100-message history page from Kotlin (`scripts/bindings.sh bench-kotlin`: the shipped library,
 * profile `mobile`, unless BENCH_PROFILE names another).
 *
 * Fills a conversation with 100 agent messages through the real server, waits until they are all on the device,
 * then times `messages(limit = 100)` (the facade reads the page on the device: SQLite read + UniFFI lowering in
 * Rust, JNA call, Kotlin lifting of 100 records; inside `runBlocking` like a coroutine caller) and the same page through
 * the synchronous `messagesOnDevice`, many times after a warm-up. Floors measured in the same run: a sync FFI call
 * that returns an empty list (`pendingSends`), a call without I/O (`sdkVersion`), and 1-message pages.
 */
fun main(): Unit = runBlocking {
    val iterations = System.getenv("BENCH_ITERATIONS")?.toIntOrNull() ?: 2000
    TestServer.start().use { server ->
        val dir = tempStorage()
        val config = ChatflowConfig(server.url, Fixtures["app_id"], Environment.DEVELOPMENT, Fixtures["support.tag"], "en")
        ChatflowClient.open(config, dir).use { chat ->
            chat.refreshChatflows()
            val flow = (chat.resolve(Fixtures["support.tag"]).outcome as ResolveOutcome.Found).chatflow
            val conversation = chat.openConversation(flow.chatflowId)
            val token = Fixtures["agent.token"]
            repeat(100) { i ->
                server.agentReply(conversation.id, "Agent message number $i: a typical support answer of a line or two, " +
                    "long enough to look like a real reply to a customer's question.", token)
            }
            chat.resume()
            // Until every message is on the device (realtime or history fetch).
            var page = chat.messages(conversation.id, limit = 100)
            val deadline = System.nanoTime() + 30_000_000_000
            while (page.size < 100 && System.nanoTime() < deadline) {
                delay(50)
                page = chat.messages(conversation.id, limit = 100)
            }
            check(page.size == 100) { "only ${page.size} messages on the device" }
            check(chat.messagesOnDevice(conversation.id, limit = 100).complete) { "the page must be answered locally" }
            check(chat.messagesOnDevice(conversation.id, limit = 1).complete) { "the page must be answered locally" }

            // Every series is timed once per round, round after round, so that JIT compilation, GC and the
            // machine's load fall on all of them alike.
            val series = listOf<() -> Unit>(
                { runBlocking { chat.messages(conversation.id, limit = 100) } },
                { runBlocking { chat.messages(conversation.id, limit = 1) } },
                { chat.messagesOnDevice(conversation.id, limit = 100) },
                { chat.messagesOnDevice(conversation.id, limit = 1) },
                { chat.pendingSends() },
                { io.chatflow.Chatflow.sdkVersion },
            )
            // Warm-up: JIT, SQLite page cache, allocator.
            repeat(1000) { series.forEach { it() } }
            val samples = Array(series.size) { LongArray(iterations) }
            for (i in 0 until iterations) {
                series.forEachIndexed { k, block ->
                    val t = System.nanoTime()
                    block()
                    samples[k][i] = System.nanoTime() - t
                }
            }
            val (page100, page1, device100, device1, syncCall) = samples.take(5)
            val bareCall = samples[5]

            fun LongArray.pct(p: Double): Double = sorted()[((size - 1) * p).toInt()] / 1000.0
            println("history page bench: $iterations rounds, series interleaved, warm, optimized library")
            println("  messages(limit=100): median %.1f µs, p90 %.1f µs  ->  %.2f µs per message".format(
                page100.pct(0.5), page100.pct(0.9), page100.pct(0.5) / 100))
            println("  messages(limit=1):   median %.1f µs (fixed cost: runBlocking + one FFI call + store reads)".format(page1.pct(0.5)))
            println("  messagesOnDevice(limit=100): median %.1f µs  ->  %.2f µs per message (the same page, no coroutine)".format(
                device100.pct(0.5), device100.pct(0.5) / 100))
            println("  messagesOnDevice(limit=1):   median %.1f µs".format(device1.pct(0.5)))
            println("  pendingSends() (sync, empty): median %.1f µs (one sync FFI call + a store query)".format(syncCall.pct(0.5)))
            println("  sdkVersion(): median %.1f µs (floor: one FFI call returning a string, no I/O)".format(bareCall.pct(0.5)))
            println("  marginal per message ((page100 - page1) / 99): %.2f µs; goal <= 2 µs".format(
                (page100.pct(0.5) - page1.pct(0.5)) / 99))
        }
        dir.deleteRecursively()
    }
}
