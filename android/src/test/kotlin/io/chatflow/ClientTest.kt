package io.chatflow

import io.chatflow.testing.Fixtures
import io.chatflow.testing.TestServer
import io.chatflow.testing.tempStorage
import kotlinx.coroutines.runBlocking
import org.junit.AfterClass
import org.junit.BeforeClass
import org.junit.Test
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

/** The facade's non-messaging surface against the real server: config, resolution, consent, session, errors. */
class ClientTest {
    companion object {
        private lateinit var server: TestServer

        @BeforeClass @JvmStatic
        fun startServer() {
            server = TestServer.start()
        }

        @AfterClass @JvmStatic
        fun stopServer() = server.close()
    }

    private fun config(url: String = server.url) = ChatflowConfig(
        serverUrl = url,
        appId = Fixtures["app_id"],
        environment = Environment.DEVELOPMENT,
        defaultTag = Fixtures["support.tag"],
        language = "en",
    )

    private fun withClient(block: suspend (ChatflowClient) -> Unit) {
        val dir = tempStorage()
        try {
            ChatflowClient.open(config(), dir).use { runBlocking { block(it) } }
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun configFromJsonNamesTheWrongField() {
        val e = assertFailsWith<ChatflowException.Config> {
            ChatflowConfig.fromJson("""{"server_url":"ftp://x","app_id":"a","environment":"development","default_tag":"t"}""")
        }
        assertTrue("server_url" in e.message.orEmpty(), e.message)
        assertTrue(!e.isRetryable)
        val ok = ChatflowConfig.fromJson(
            """{"server_url":"${server.url}","app_id":"app_acme","environment":"staging","default_tag":"support"}""",
        )
        assertEquals(Environment.STAGING, ok.environment)
    }

    @Test
    fun invalidConfigIsRefusedAtOpen() {
        val dir = tempStorage()
        try {
            assertFailsWith<ChatflowException.Config> { ChatflowClient.open(config(url = "http://example.com"), dir) }
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun resolvePicksTheHighestPriorityAndExplainSaysWhy() = withClient { chat ->
        chat.refreshChatflows()
        val outcome = chat.resolve(Fixtures["support.tag"]).outcome
        assertIs<ResolveOutcome.Found>(outcome)
        assertEquals(Fixtures.long("support.winner_id"), outcome.chatflow.chatflowId)
        assertEquals(Fixtures["support.winner_name"], outcome.chatflow.name)

        val why = chat.explain(Fixtures["support.tag"])
        assertEquals(Fixtures.long("support.winner_id"), why.chosenChatflowId)
        val verdicts = why.candidates.associate { it.chatflowId to it.verdict }
        assertIs<Verdict.Chosen>(verdicts[Fixtures.long("support.winner_id")])
        assertIs<Verdict.LowerPriority>(verdicts[Fixtures.long("support.loser_id")])
        assertIs<Verdict.Disabled>(verdicts[Fixtures.long("support.disabled_id")])

        assertIs<ResolveOutcome.NotFound>(chat.resolve("no-such-tag").outcome)
    }

    @Test
    fun explicitConsentStates() = withClient { chat ->
        chat.refreshChatflows()
        val id = Fixtures.long("consent.chatflow_id")
        val before = chat.consentState(id)
        assertEquals(ProcessDataStatus.AWAITING_DECISION, before.processData.status)
        assertTrue(!before.canSend)
        val declined = chat.declineConsent(id, before.processData.textVersion)
        assertEquals(ProcessDataStatus.DECLINED, declined.processData.status)
        val accepted = chat.acceptConsent(id, before.processData.textVersion)
        assertEquals(ProcessDataStatus.ACCEPTED, accepted.processData.status)
        assertTrue(accepted.canSend)
    }

    @Test
    fun sessionIsCreatedOnDemand() = withClient { chat ->
        val info = chat.ensureSession()
        assertNotNull(info.visitorId)
        assertEquals(info, chat.session)
        chat.setDeviceInfo()
        chat.setChatProperties(mapOf("plan" to "pro"))
        assertEquals("pro", chat.chatProperties()["plan"])
    }

    @Test
    fun identifyBindsTheSessionToTheAppsUser() = withClient { chat ->
        val anonymous = chat.ensureSession().visitorId
        val outcome = chat.identify(identityToken("user-42"), email = "ada@example.com")
        assertEquals("user-42", outcome.userId)
        assertTrue(!outcome.pending)
        assertEquals("user-42", chat.session?.userId)
        assertNotNull(anonymous)
        // A token signed with another secret is refused with the protocol's code.
        val e = assertFailsWith<ChatflowException.Server> { chat.identify(identityToken("user-42", secret = "not-the-app-secret-000")) }
        assertEquals(ErrorCode.IDENTITY_TOKEN_FORGED, e.code)
    }

    /** An HS256 identity token, as the app's backend signs it. */
    private fun identityToken(sub: String, secret: String = Fixtures["identity.secret"]): String {
        val b64 = java.util.Base64.getUrlEncoder().withoutPadding()
        val now = System.currentTimeMillis() / 1000
        val header = b64.encodeToString("""{"alg":"HS256","typ":"JWT"}""".toByteArray())
        val claims = """{"sub":"$sub","aud":"${Fixtures["app_id"]}","iat":$now,"exp":${now + 300}}"""
        val payload = b64.encodeToString(claims.toByteArray())
        val mac = javax.crypto.Mac.getInstance("HmacSHA256")
        mac.init(javax.crypto.spec.SecretKeySpec(secret.toByteArray(), "HmacSHA256"))
        return "$header.$payload.${b64.encodeToString(mac.doFinal("$header.$payload".toByteArray()))}"
    }

    @Test
    fun unreachableServerIsARetryableNetworkError() {
        val dir = tempStorage()
        try {
            ChatflowClient.open(config(url = "http://127.0.0.1:9"), dir).use { chat ->
                val e = assertFailsWith<ChatflowException> { runBlocking { chat.refreshChatflows() } }
                assertIs<ChatflowException.Network>(e)
                assertTrue(e.isRetryable)
            }
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun closedClientThrowsClosed() = runBlocking<Unit> {
        val dir: File = tempStorage()
        val chat = ChatflowClient.open(config(), dir)
        val screen = chat.observeConversations()
        chat.close()
        assertFailsWith<ChatflowException.Closed> { chat.resolve() }
        assertFailsWith<ChatflowException.Closed> { chat.send("c", "hello") }
        assertFailsWith<ChatflowException.Closed> { chat.refreshChatflows() }
        assertFailsWith<ChatflowException.Closed> { chat.observeConversation("c") }
        screen.close()
        dir.deleteRecursively()
    }
}
