package io.chatflow.sample.console

import io.chatflow.AuthorKind
import io.chatflow.ChatConversation
import io.chatflow.ChatEvent
import io.chatflow.ChatflowClient
import io.chatflow.ConnectionState
import io.chatflow.ConversationState
import io.chatflow.MessageState
import io.chatflow.ObservedConversation
import io.chatflow.ProcessDataStatus
import io.chatflow.QuickReply
import io.chatflow.ResolvedChatflow
import io.chatflow.observeConversation
import io.chatflow.observeConversations
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.filterNotNull
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.concurrent.thread

/** What the chat loop reacts to: a typed line, the end of input, the connection, or a new state of the screen. */
sealed interface Input {
    data class Line(val text: String) : Input
    data object End : Input
    data class Connection(val state: ConnectionState) : Input
    data class Conversation(val state: ConversationState) : Input
    data class OtherUnread(val count: Int) : Input
}

/** A question that takes the visitor's next line as its answer. */
enum class Question { CONSENT, OPT_IN }

/**
 * The chat on one chatflow, drawn from the SDK's observable state: [ObservedConversation.state] for the conversation
 * (messages with their delivery, typing, status, quick replies), [io.chatflow.ObservedConversationList] for the
 * unread count of the other conversations, and the connection from `client.events`. On Android this is a ViewModel
 * that exposes those `StateFlow`s to Compose; a terminal cannot redraw, so [TranscriptPrinter] prints what changed.
 *
 * Everything runs on one coroutine (the loop in [run]), so the state needs no locks. Members are `internal` for
 * the typed-line handlers in Commands.kt.
 */
class ChatScreen(
    internal val client: ChatflowClient,
    internal val flow: ResolvedChatflow,
    internal val term: Terminal,
) {
    /** `null` until the first message opens one. */
    internal var conversation: ChatConversation? = null
    private var observed: ObservedConversation? = null
    private var following: Job? = null
    internal val printer = TranscriptPrinter(this)

    internal var quickReplies: List<QuickReply> = emptyList()
    internal val questions = ArrayDeque<Question>()
    internal var paused = false
    internal var offline = false
    internal var kbSynced = false

    private var everOnline = false
    private var connectionShown: String? = null
    private var otherUnread = 0
    private lateinit var scope: CoroutineScope
    private val inbox = Channel<Input>(Channel.UNLIMITED)

    suspend fun run(): Int = coroutineScope {
        scope = this
        conversation = currentConversation(client, flow.chatflowId, term)
        // Collecting the events starts the realtime connection; the Flow replays the current state first. The
        // collector starts when this coroutine next suspends, so wait for that replay.
        val subscribed = CompletableDeferred<Unit>()
        val connection = launch {
            client.events.collect {
                subscribed.complete(Unit)
                if (it is ChatEvent.ConnectionChanged) inbox.send(Input.Connection(it.state))
            }
        }
        subscribed.await()
        val list = client.observeConversations()
        val others = launch {
            list.state.filterNotNull().collect { s ->
                inbox.send(Input.OtherUnread(s.rows.filter { it.conversationId != conversation?.id }.sumOf { it.unreadCount }))
            }
        }
        intro()
        readLinesInto(inbox)
        try {
            for (input in inbox) {
                val goOn = when (input) {
                    is Input.Line -> onLine(input.text)
                    Input.End -> {
                        // End of piped input: let queued messages go out first. Ctrl-D on a terminal just leaves.
                        if (!term.interactive) drain()
                        false
                    }
                    else -> {
                        onChange(input)
                        true
                    }
                }
                if (!goOn) break
                term.prompt(if (questions.isEmpty()) "› " else "[y/n] ")
            }
        } finally {
            connection.cancel()
            others.cancel()
            following?.cancel()
            list.close()
            observed?.close()
        }
        goodbye()
        0
    }

    /**
     * Follows [c]: its state comes into the loop as [Input.Conversation]. Returns the first snapshot (the messages
     * stored on the device), or `null` if it did not come within 5 s.
     */
    internal suspend fun follow(c: ChatConversation): ConversationState? {
        val screen = client.observeConversation(c.id, limit = 50)
        observed = screen
        val first = withTimeoutOrNull(5_000) { screen.state.filterNotNull().first() }
        first?.let { printer.started(it) }
        following = scope.launch { screen.state.filterNotNull().collect { inbox.send(Input.Conversation(it)) } }
        return first
    }

    /** Header, welcome message, recent history and the consent questions. */
    private suspend fun intro() {
        val status = if (flow.availability.available) term.green("● available") else term.yellow("○ away")
        term.say("${term.bold(flow.header.displayName)} ${term.dim("· ${flow.name} · ${kindWord(flow)}")} $status")
        flow.availability.awayMessage?.takeIf { !flow.availability.available }?.let { term.say(term.yellow(it)) }
        if (flow.welcomeMessage.isNotEmpty()) {
            term.say("${term.magenta(flow.header.displayName)}: ${flow.welcomeMessage}")
            printer.welcomeOnScreen = true
        }

        conversation?.let { c ->
            // Brings the latest page onto the device (the state holds what the device has).
            client.messages(c.id, limit = 10)
            val page = follow(c)?.messages?.takeLast(10).orEmpty()
            if (page.isNotEmpty()) term.say(term.dim("— earlier in this conversation —"))
            page.forEach { printer.message(it.message) }
            // On screen now, so read: the team sees "seen" and the unread badge clears.
            if (page.isNotEmpty()) client.markRead(c.id)
        }

        val consent = client.consentState(flow.chatflowId)
        when (consent.processData.status) {
            ProcessDataStatus.AWAITING_DECISION -> questions += Question.CONSENT
            ProcessDataStatus.NOTICE_TO_SHOW, ProcessDataStatus.IMPLIED -> term.say(term.dim("notice: ${consent.processData.text}"))
            ProcessDataStatus.DECLINED -> term.say(term.red(DECLINED))
            ProcessDataStatus.ACCEPTED, ProcessDataStatus.NOT_REQUIRED -> {}
        }
        if (consent.communicate?.optedIn == null && consent.communicate != null) questions += Question.OPT_IN
        if (client.emailCapturePrompt(flow.chatflowId).askNow) {
            term.say(term.dim("${flow.emailCapture.prompt} (/email ADDRESS)"))
        }
        term.say(term.dim("type a message and press enter · a number picks a quick reply · /help for commands · /quit"))
        questions.firstOrNull()?.let { ask(it) }
    }

    internal fun ask(q: Question) = when (q) {
        Question.CONSENT -> term.say("${term.bold("consent:")} ${flow.consent.processDataText}\nI agree? [y/n]")
        Question.OPT_IN -> term.say("${term.bold("☐")} ${flow.consent.communicate?.checkboxLabel ?: ""} [y/n]")
    }

    private fun onChange(input: Input) {
        when (input) {
            is Input.Connection -> onConnection(input.state)
            is Input.Conversation -> {
                printer.changed(input.state)
                // The core keeps the pickable replies: the latest question's, until the visitor answers.
                quickReplies = input.state.details.quickReplies
            }
            is Input.OtherUnread -> {
                // Messages in this conversation are read as they are shown; others wait in the app's inbox.
                if (input.count > 0 && input.count != otherUnread) term.say(term.dim("${input.count} unread message(s) in your other conversations"))
                otherUnread = input.count
            }
            is Input.Line, Input.End -> {}
        }
    }

    private fun onConnection(state: ConnectionState) {
        val word = when (state) {
            ConnectionState.Online -> "online"
            ConnectionState.Connecting -> "connecting"
            is ConnectionState.WaitingToRetry -> "offline"
            // Offline before the first connection only means "no visitor yet" (the first message creates one).
            ConnectionState.Offline -> if (everOnline || paused) "offline" else return
        }
        offline = word == "offline"
        // Retries go connecting → offline → connecting…: once offline, only "back online" is news.
        if (word == connectionShown || (word == "connecting" && connectionShown == "offline")) return
        when (word) {
            "online" -> term.say(term.green(if (everOnline) "● back online" else "● online"))
            "connecting" -> term.say(term.dim("… connecting"))
            else -> term.say(term.yellow("○ offline — messages will be sent when back"))
        }
        if (state == ConnectionState.Online) everOnline = true
        connectionShown = word
    }

    /** Non-refused messages still waiting for the server (every conversation: the send queue is the app's). */
    internal fun waitingSends() = client.pendingSends().filter { it.state !is MessageState.Wedged }

    /** End of input: keep drawing the changes until the queue is empty (at most 30 s), then leave. */
    private suspend fun drain() {
        withTimeoutOrNull(30_000) {
            while (waitingSends().isNotEmpty()) {
                withTimeoutOrNull(200) { inbox.receive() }?.let(::onChange)
            }
        }
        // The state that reports the last confirmation may still be on its way: draw the latest.
        observed?.state?.value?.let { printer.changed(it) }
        generateSequence { inbox.tryReceive().getOrNull() }.forEach(::onChange)
    }

    private fun goodbye() {
        val waiting = waitingSends().size
        if (waiting > 0) {
            term.say(term.yellow("$waiting message(s) still queued: they are sent the next time the chat connects"))
        } else if (term.interactive) {
            term.say(term.dim("bye"))
        }
    }
}

const val DECLINED = "you declined the data-processing notice: no message can be sent in this chat (/consent to change your mind)"

/** `📎 receipt.pdf (application/pdf, 12 kB)` */
fun attachmentLine(a: io.chatflow.MessageAttachment): String {
    val size = when {
        a.size >= 1_000_000L -> "%.1f MB".format(a.size.toDouble() / 1e6)
        a.size >= 1_000L -> "${a.size / 1_000} kB"
        else -> "${a.size} B"
    }
    return "📎 ${a.fileName} (${a.mimeType}, $size)"
}

fun authorWord(kind: AuthorKind): String = when (kind) {
    AuthorKind.VISITOR -> "you"
    AuthorKind.AGENT -> "agent"
    AuthorKind.BOT -> "bot"
    AuthorKind.SYSTEM -> "system"
}

/**
 * Reads stdin on its own thread: a blocking read cannot be cancelled, and a daemon thread does not keep the app
 * alive after /quit. (An Android app gets its input from UI callbacks instead.)
 */
private fun readLinesInto(inbox: SendChannel<Input>) = thread(isDaemon = true, name = "stdin") {
    val reader = System.`in`.bufferedReader(Charsets.UTF_8)
    while (true) {
        val line = try { reader.readLine() } catch (e: java.io.IOException) { null } ?: break
        inbox.trySend(Input.Line(line))
    }
    inbox.trySend(Input.End)
}
