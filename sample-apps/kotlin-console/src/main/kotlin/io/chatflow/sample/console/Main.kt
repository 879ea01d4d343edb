package io.chatflow.sample.console

import io.chatflow.Chatflow
import io.chatflow.ChatflowClient
import io.chatflow.ChatflowException
import io.chatflow.LogLevel
import kotlinx.coroutines.runBlocking
import java.io.File
import kotlin.system.exitProcess

/**
 * A terminal chat on the Chatflow Kotlin SDK: the same steps an Android app takes (open the client, resolve the
 * chatflow for a tag, consent, send, render events, pause/resume with the app lifecycle), with stdin/stdout as UI.
 */
fun main(args: Array<String>) {
    val term = Terminal.system()
    val code = try {
        val options = parseArgs(args, System::getenv)
        if (options == null) {
            term.say(USAGE)
            0
        } else {
            runBlocking { runApp(options, term) }
        }
    } catch (e: AppError) {
        term.error(e.message)
        e.exitCode
    } catch (e: ChatflowException) {
        term.error(e.message ?: e.toString())
        exitCodeOf(e)
    }
    // exitProcess, not return: the stdin reader thread may still be blocked in a read.
    exitProcess(code)
}

suspend fun runApp(options: Options, term: Terminal): Int {
    val config = loadConfig(options.configFile)
    val dataDir = options.dataDir ?: defaultDataDir(config)
    if (!dataDir.isDirectory && !dataDir.mkdirs()) {
        throw AppError("data directory $dataDir: cannot create it (pass --data-dir DIR or set CHATFLOW_DATA_DIR)", EXIT_CONFIG)
    }
    if (options.verbose) {
        // The SDK's logs never contain tokens or message bodies, so they are safe to show.
        Chatflow.setLogger(LogLevel.DEBUG) { term.log("${it.level} ${it.target}: ${it.message}") }
    }
    // One client per process (on Android: per Application), closed when the app is done with chat.
    return ChatflowClient.open(config, dataDir).use { client ->
        val flow = resolveChatflow(client, options.tag, options.languages, term)
        ChatScreen(client, flow, term).run()
    }
}

/** What the visitor asked for on the command line; values may also come from the environment. */
data class Options(
    val configFile: File,
    val dataDir: File?,
    val tag: String?,
    val languages: List<String>,
    val verbose: Boolean,
)

/** A failure that ends the app: [message] goes to stderr, [exitCode] to the shell. */
class AppError(override val message: String, val exitCode: Int) : Exception(message)

// Exit codes: the same as the Rust `chatflow` CLI, so scripts can treat both alike.
const val EXIT_INTERNAL = 1
const val EXIT_USAGE = 2
const val EXIT_CONFIG = 3
const val EXIT_NETWORK = 4
const val EXIT_REFUSED = 5
const val EXIT_CONSENT = 6
const val EXIT_NOT_FOUND = 7

fun exitCodeOf(e: ChatflowException): Int = when (e) {
    // A refused certificate is fixed in the trust setup (device CAs, `extra_root_certificates`, pins).
    is ChatflowException.Config, is ChatflowException.Tls -> EXIT_CONFIG
    is ChatflowException.InvalidInput -> EXIT_USAGE
    is ChatflowException.Network -> EXIT_NETWORK
    is ChatflowException.Server -> EXIT_REFUSED
    is ChatflowException.ConsentRequired -> EXIT_CONSENT
    is ChatflowException.NotFound -> EXIT_NOT_FOUND
    is ChatflowException.Storage, is ChatflowException.Closed, is ChatflowException.Internal -> EXIT_INTERNAL
}

val USAGE = """
    usage: kotlin-console [--config FILE] [--data-dir DIR] [--tag TAG] [--lang L[,L...]] [-v]

      --config FILE, -c   the SDK's JSON config (env CHATFLOW_CONFIG; default ./chatflow.json)
      --data-dir DIR      where the SDK keeps the visitor's session and messages (env CHATFLOW_DATA_DIR;
                          default ~/.local/share/chatflow-kotlin-console/<app>@<server>)
      --tag TAG, -t       the chatflow tag to open (default: the config's default_tag)
      --lang L            preferred languages, best first (default: the config's language, else the system's)
      -v, --verbose       the SDK's logs on stderr

    In the chat, /help lists the commands. Exit codes: 0 ok, 2 usage, 3 config, 4 network, 5 refused by the
    server, 6 consent, 7 no chatflow for the tag, 1 anything else.
""".trimIndent()

/** Parses `args` (`--flag value` or `--flag=value`); `null` means "show the usage". */
fun parseArgs(args: Array<String>, env: (String) -> String?): Options? {
    var config = env("CHATFLOW_CONFIG")?.takeIf { it.isNotEmpty() }
    var dataDir = env("CHATFLOW_DATA_DIR")?.takeIf { it.isNotEmpty() }
    var tag: String? = null
    val languages = mutableListOf<String>()
    var verbose = false

    val words = args.flatMap { if (it.startsWith("--") && '=' in it) it.split('=', limit = 2) else listOf(it) }.iterator()
    fun value(flag: String): String =
        if (words.hasNext()) words.next() else throw AppError("$flag needs a value (--help lists the options)", EXIT_USAGE)
    while (words.hasNext()) {
        when (val word = words.next()) {
            "--config", "-c" -> config = value(word)
            "--data-dir" -> dataDir = value(word)
            "--tag", "-t" -> tag = value(word)
            "--lang" -> languages += value(word).split(',').map(String::trim).filter(String::isNotEmpty)
            "--verbose", "-v" -> verbose = true
            "--help", "-h" -> return null
            else -> throw AppError("unknown argument `$word` (--help lists the options)", EXIT_USAGE)
        }
    }
    return Options(File(config ?: "chatflow.json"), dataDir?.let(::File), tag, languages, verbose)
}
