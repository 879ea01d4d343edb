package io.chatflow.testing

import io.chatflow.ChatflowConfig
import io.chatflow.Environment
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.TimeUnit

/**
 * The real chatflow-server on 127.0.0.1 with a random port and a temp database, seeded with server/seeds/test.json.
 * Paths come from the environment set by scripts/bindings.sh (CHATFLOW_SERVER_BIN, CHATFLOW_SEED).
 */
class TestServer private constructor(private val dir: File, private val seed: String) : AutoCloseable {
    private var process: Process? = null

    /** `http://127.0.0.1:PORT` (stable across [restart]). */
    lateinit var url: String
        private set

    private val http: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    private fun launch(bind: String) {
        val bin = requireEnv("CHATFLOW_SERVER_BIN")
        val log = File(dir, "server.log")
        val p = ProcessBuilder(bin, "--db", File(dir, "server.db").path, "--bind", bind, "--seed", seed)
            .redirectError(ProcessBuilder.Redirect.appendTo(log))
            .start()
        val first = p.inputStream.bufferedReader().readLine()
        if (first == null || !first.startsWith("listening on ")) {
            p.destroyForcibly()
            error("chatflow-server did not start (first line: $first); log:\n${log.readText()}")
        }
        // Nothing else is printed on stdout; drain it anyway so the server can never block on a full pipe.
        Thread { p.inputStream.use { it.copyTo(java.io.OutputStream.nullOutputStream()) } }
            .apply { isDaemon = true }.start()
        process = p
        url = first.removePrefix("listening on ").trim()
    }

    /**
     * Stops the server at once (SIGKILL: a crash, as far as clients can tell): the socket and every connection
     * drop. [restart] brings it back on the same port and database.
     */
    fun stop() {
        process?.let {
            it.destroyForcibly()
            it.waitFor(10, TimeUnit.SECONDS)
        }
        process = null
    }

    fun restart() {
        stop()
        launch(url.removePrefix("http://"))
    }

    /** Posts an agent reply through the agent API; returns the HTTP status. */
    fun agentReply(conversationId: String, body: String, agentToken: String): Int {
        val request = HttpRequest.newBuilder(URI("$url/v1/agent/conversations/$conversationId/messages"))
            .header("Authorization", "Bearer $agentToken")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("""{"body":${jsonString(body)}}"""))
            .timeout(Duration.ofSeconds(10))
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() in 200..299) { "agent reply refused: ${response.statusCode()} ${response.body()}" }
        return response.statusCode()
    }

    /**
     * An agent sends [bytes] as [fileName] with [body], as the inbox does: declare the upload, send the bytes
     * (`PATCH` from offset 0), then the reply naming the upload.
     */
    fun agentSendsFile(conversationId: String, fileName: String, mimeType: String, bytes: ByteArray, body: String, agentToken: String) {
        val uploadId = "kt-" + java.util.UUID.randomUUID()
        val sha = java.security.MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }
        send(
            "POST", "/v1/agent/uploads", agentToken,
            """{"upload_id":"$uploadId","file_name":${jsonString(fileName)},"mime_type":"$mimeType","size":${bytes.size},"sha256":"$sha"}""",
        )
        val patch = HttpRequest.newBuilder(URI("$url/v1/agent/uploads/$uploadId"))
            .header("Authorization", "Bearer $agentToken")
            .header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes))
            .timeout(Duration.ofSeconds(10))
            .build()
        val response = http.send(patch, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() == 200) { "upload refused: ${response.statusCode()} ${response.body()}" }
        send(
            "POST", "/v1/agent/conversations/$conversationId/messages", agentToken,
            """{"body":${jsonString(body)},"attachments":["$uploadId"]}""",
        )
    }

    /** Closes a conversation through the agent API (the satisfaction survey follows when the chatflow asks). */
    fun closeConversation(conversationId: String, agentToken: String) {
        send("POST", "/v1/agent/conversations/$conversationId/close", agentToken, null)
    }

    /** The SDK config of the test app on this server (English, the support tag). */
    fun config(): ChatflowConfig = ChatflowConfig(
        serverUrl = url,
        appId = Fixtures["app_id"],
        environment = Environment.DEVELOPMENT,
        defaultTag = Fixtures["support.tag"],
        language = "en",
    )

    /** The agent read the conversation up to [seq] (the visitor's messages show as read by the team). */
    fun agentRead(conversationId: String, seq: Long, agentToken: String) {
        send("POST", "/v1/agent/conversations/$conversationId/read", agentToken, """{"seq":$seq}""")
    }

    /** Turns the satisfaction survey on for a chatflow through the admin API. */
    fun enableSurvey(chatflowId: Long, adminToken: String) {
        val path = "/v1/admin/chatflows/$chatflowId"
        val flow = send("GET", path, adminToken, null)
        check("\"csat_survey\":false" in flow) { "unexpected chatflow JSON: $flow" }
        send("PUT", path, adminToken, flow.replace("\"csat_survey\":false", "\"csat_survey\":true"))
    }

    private fun send(method: String, path: String, token: String, body: String?): String {
        val request = HttpRequest.newBuilder(URI("$url$path"))
            .header("Authorization", "Bearer $token")
            .header("Content-Type", "application/json")
            .method(method, body?.let { HttpRequest.BodyPublishers.ofString(it) } ?: HttpRequest.BodyPublishers.noBody())
            .timeout(Duration.ofSeconds(10))
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() in 200..299) { "$method $path refused: ${response.statusCode()} ${response.body()}" }
        return response.body()
    }

    override fun close() {
        stop()
        dir.deleteRecursively()
    }

    companion object {
        /** [seedFile]: a file name next to CHATFLOW_SEED (e.g. `demo.json`), default the test seed itself. */
        fun start(seedFile: String? = null): TestServer {
            val testSeed = File(requireEnv("CHATFLOW_SEED"))
            val seed = seedFile?.let { File(testSeed.parentFile, it) } ?: testSeed
            val server = TestServer(Files.createTempDirectory("chatflow-server").toFile(), seed.path)
            server.launch("127.0.0.1:0")
            return server
        }

        private fun requireEnv(name: String): String =
            System.getenv(name) ?: error("$name is not set: run the Kotlin suite with scripts/bindings.sh kotlin")

        private fun jsonString(s: String): String = buildString {
            append('"')
            for (c in s) when (c) {
                '"' -> append("\\\"")
                '\\' -> append("\\\\")
                '\n' -> append("\\n")
                else -> if (c < ' ') append("\\u%04x".format(c.code)) else append(c)
            }
            append('"')
        }
    }
}

/** The shared scenario data (tests/bindings/fixtures/scenario.properties). */
object Fixtures {
    private val props: java.util.Properties by lazy {
        val dir = System.getenv("CHATFLOW_FIXTURES") ?: error("CHATFLOW_FIXTURES is not set")
        java.util.Properties().apply { File(dir, "scenario.properties").reader().use { load(it) } }
    }

    operator fun get(key: String): String = props.getProperty(key) ?: error("fixture `$key` missing")

    fun long(key: String): Long = get(key).toLong()

    /** A body with `{lang}` replaced by `kotlin`. */
    fun text(key: String): String = get(key).replace("{lang}", "kotlin")
}

/** A fresh directory for a client's database, deleted by the caller. */
fun tempStorage(): File = Files.createTempDirectory("chatflow-client").toFile()
