package io.chatflow

import org.junit.Test
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/** Process-wide surface: version and the logger bridge. No server needed. */
class SdkTest {
    @Test
    fun sdkVersionIsTheWorkspaceVersion() {
        assertTrue(Regex("""\d+\.\d+\.\d+""").matches(Chatflow.sdkVersion), Chatflow.sdkVersion)
    }

    @Test
    fun logsReachTheAppLoggerAndStopAfterClear() {
        val lines = CopyOnWriteArrayList<LogRecord>()
        Chatflow.setLogger(LogLevel.DEBUG) { lines += it }
        val installed = lines.firstOrNull { it.target == "chatflow_ffi" }
        assertTrue(installed != null && installed.message.startsWith("logger installed"), "got $lines")
        assertEquals(LogLevel.DEBUG, installed.level)
        Chatflow.clearLogger()
        val before = lines.size
        Chatflow.setLogger(LogLevel.ERROR) { lines += it } // debug line of the new install is below ERROR
        assertEquals(before, lines.size)
        Chatflow.clearLogger()
    }

    @Test
    fun aThrowingLoggerDoesNotBreakTheSdk() {
        Chatflow.setLogger(LogLevel.TRACE) { throw IllegalStateException("boom") }
        Chatflow.setLogger(LogLevel.INFO) { }
        Chatflow.clearLogger()
    }
}
