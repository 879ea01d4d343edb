package io.chatflow

import org.junit.Test
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
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
    fun trustOptionsOfTheConfigFile() {
        val pin = "r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="
        val base = """"server_url":"https://chat.example.com","app_id":"a",""" +
            """"environment":"production","default_tag":"t""""
        val config = ChatflowConfig.fromJson("""{$base,"pinned_spki_sha256":["$pin"]}""")
        assertEquals(listOf(pin), config.pinnedSpkiSha256)
        assertEquals(null, config.extraRootCertificates)
        val e = assertFailsWith<ChatflowException.Config> {
            ChatflowConfig.fromJson("""{$base,"extra_root_certificates":"not PEM"}""")
        }
        assertTrue("extra_root_certificates" in e.message.orEmpty(), e.message)
        assertFalse(e.isRetryable)
    }

    @Test
    fun aThrowingLoggerDoesNotBreakTheSdk() {
        Chatflow.setLogger(LogLevel.TRACE) { throw IllegalStateException("boom") }
        Chatflow.setLogger(LogLevel.INFO) { }
        Chatflow.clearLogger()
    }
}
