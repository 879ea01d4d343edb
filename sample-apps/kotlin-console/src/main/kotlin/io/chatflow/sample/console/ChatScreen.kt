package io.chatflow.sample.console

import io.chatflow.AuthorKind
import io.chatflow.ChatConversation
import io.chatflow.ChatEvent
import io.chatflow.ChatMessage
import io.chatflow.ChatflowClient
import io.chatflow.ChatflowException
import io.chatflow.ConnectionState
import io.chatflow.ConversationStatus
import io.chatflow.MessageState
import io.chatflow.ProcessDataStatus
import io.chatflow.QuickReply
import io.chatflow.Reader
import io.chatflow.ResolvedChatflow
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.concurrent.thread

/** What the chat loop reacts to: a typed line, the end of input, or an SDK event. */
sealed interface Input {
    data class Line(val text: String) : Input
    data object End : Input
    data class Event(val event: ChatEvent) : Input
}

/** A question that takes the visitor's next line as its answer. */
enum class Question { CONSENT, OPT_IN }

/**
 * The chat on one chatflow. On Android this state and these handlers live in a ViewModel: events come from
 * `client.events` collected in `viewModelScope`, and the lines printed here become UI state.
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

    /** The visitor's messages sent from this screen: client message id → delivery shown yet. */
    internal val echoes = HashMap<String, Boolean>()
    internal var quickReplies: List<QuickReply> = emptyList()
    internal val questions = ArrayDeque<Question>()
    internal var paused = false
    internal var offline = false
    internal var kbSynced = false

    private val shown = HashSet<ULong>()       // seqs on screen already
    private var baseline = 0uL                   // seqs up to this existed before the chat opened
    private var welcomeOnScreen = false          // the intro showed the welcome; no team message shown since
    private var lastVisitorSeq = 0uL
    private var seenShown = 0uL
    private val typing = HashSet<String>()
    private val wedged = HashSet<String>()     // refused messages already reported
    private var everOnline = false
    private var connectionShown: String? = null
    private var otherUnread = 0uL

    suspend fun run(): Int = coroutineScope {
        conversation = currentConversation(client, flow.chatflowId, term)
        val inbox = Channel<Input>(Channel.UNLIMITED)
        // Collecting the events starts the realtime connection; the Flow replays the current state first. The
        // collector starts when this coroutine next suspends, so wait for that replay: an event emitted before the
        // subscription (the delivery of a message typed at once) would otherwise never reach the screen.
        val subscribed = CompletableDeferred<Unit>()
        val events = launch {
            client.events.collect {
                subscribed.complete(Unit)
                inbox.send(Input.Event(it))
            }
        }
        subscribed.await()
        intro()
        readLinesInto(inbox)
        try {
            for (input in inbox) {
                val goOn = when (input) {
                    is Input.Line -> onLine(input.text)
                    is Input.Event -> {
                        onEvent(input.event)
                        true
                    }
                    Input.End -> {
                        // End of piped input: let queued messages go out first. Ctrl-D on a terminal just leaves.
                        if (!term.interactive) drain(inbox)
                        false
                    }
                }
                if (!goOn) break
                term.prompt(if (questions.isEmpty()) "› " else "[y/n] ")
            }
        } finally {
            events.cancel()
        }
        goodbye()
        0
    }

    /** Header, welcome message, recent history and the consent questions. */
    private suspend fun intro() {
        val status = if (flow.availability.available) term.green("● available") else term.yellow("○ away")
        term.say("${term.bold(flow.header.displayName)} ${term.dim("· ${flow.name} · ${kindWord(flow)}")} $status")
        flow.availability.awayMessage?.takeIf { !flow.availability.available }?.let { term.say(term.yellow(it)) }
        if (flow.welcomeMessage.isNotEmpty()) {
            term.say("${term.magenta(flow.header.displayName)}: ${flow.welcomeMessage}")
            welcomeOnScreen = true
        }

        conversation?.let { c ->
            val page = client.messages(c.id, limit = 10)
            if (page.isNotEmpty()) term.say(term.dim("— earlier in this conversation —"))
            page.forEach { show(it, fromHistory = true) }
            baseline = maxOf(c.lastSeq, page.mapNotNull { it.seq }.maxOrNull() ?: 0uL)
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

    private fun isCurrent(conversationId: String) = conversation?.id == conversationId

    internal suspend fun onEvent(event: ChatEvent) {
        when (event) {
            is ChatEvent.ConnectionChanged -> onConnection(event.state)
            is ChatEvent.MessagesChanged -> if (isCurrent(event.conversationId)) event.messages.forEach { show(it) }
            is ChatEvent.SendStateChanged -> (event.state as? MessageState.Wedged)?.let {
                if (wedged.add(event.clientMessageId)) {
                    term.say(term.red("  ✗ not sent (${it.code.name.lowercase()}): ${it.message}"))
                }
            }
            is ChatEvent.Typing -> if (isCurrent(event.conversationId) && event.author.kind != AuthorKind.VISITOR) {
                val name = event.author.displayName ?: authorWord(event.author.kind)
                if (!event.typing) typing.remove(name) else if (typing.add(name)) term.say(term.dim("$name is typing…"))
            }
            is ChatEvent.ReadMarker -> if (isCurrent(event.conversationId) && event.reader == Reader.AGENT) onSeen(event.seq)
            is ChatEvent.ConversationStatusChanged -> if (isCurrent(event.conversationId)) {
                term.say(
                    if (event.status == ConversationStatus.CLOSED) term.yellow("the team closed this conversation (writing reopens it)")
                    else term.dim("conversation reopened"),
                )
            }
            is ChatEvent.ConversationChanged -> if (isCurrent(event.conversation.id)) {
                val before = conversation?.assignee?.id
                event.conversation.assignee?.takeIf { it.id != before }?.let { term.say(term.dim("${it.displayName} joined the conversation")) }
                conversation = event.conversation
            }
            is ChatEvent.UnreadCountsChanged -> {
                // Messages in this conversation are read as they are shown; others wait in the app's inbox.
                val others = event.counts.filter { !isCurrent(it.conversationId) }.sumOf { it.count }
                if (others > 0uL && others != otherUnread) term.say(term.dim("$others unread message(s) in your other conversations"))
                otherUnread = others
            }
            // We fell behind: redraw from the store (already shown messages are skipped).
            ChatEvent.Resync -> conversation?.let { c -> client.messages(c.id).forEach { show(it) } }
            // A file's echo says "queued" then "sent"; an app would draw a progress bar from these.
            is ChatEvent.PendingSends, is ChatEvent.MessageDeleted, is ChatEvent.CaughtUp, is ChatEvent.UploadProgress -> {}
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

    /** The team read up to [seq]: "seen" once per newest visitor message. */
    private fun onSeen(seq: ULong) {
        if (lastVisitorSeq in 1uL..seq && lastVisitorSeq > seenShown) {
            seenShown = lastVisitorSeq
            term.say(term.dim("  ✓✓ seen by the team"))
        }
    }

    /** Shows a message once, or the delivery of one of the visitor's echoes. */
    internal fun show(m: ChatMessage, fromHistory: Boolean = false) {
        val mine = m.author.kind == AuthorKind.VISITOR
        if (mine) m.seq?.let { lastVisitorSeq = maxOf(lastVisitorSeq, it) }
        val id = m.clientMessageId
        if (mine && id != null && id in echoes) {
            // Already on screen as "queued": only its delivery is news.
            if (m.state == MessageState.Sent && echoes[id] == false) {
                echoes[id] = true
                m.seq?.let { shown += it }
                term.say(term.dim("  ✓ sent #${m.seq}"))
            }
            return
        }
        val seq = m.seq ?: return
        if (!shown.add(seq)) return
        // Older than this screen (a catch-up filling the store): not news.
        if (!fromHistory && seq <= baseline) return
        // The server stores the welcome as the conversation's first team message — not always its first message: a
        // bot's greeting may come after the visitor's first words. It is on screen already, from the intro.
        if (!mine && welcomeOnScreen) {
            welcomeOnScreen = false
            if (m.body == flow.welcomeMessage) return
        }
        val name = if (mine) term.cyan("you") else term.magenta(m.author.displayName ?: authorWord(m.author.kind))
        term.say("${term.dim(clock(m.createdAt))} $name: ${m.body}")
        m.attachments.forEach { term.say("    ${attachmentLine(it)}") }
        if (m.quickReplies.isNotEmpty()) {
            term.say("    " + m.quickReplies.mapIndexed { i, r -> "${term.bold("[${i + 1}]")} ${r.label}" }.joinToString("   "))
        }
        if (!mine) {
            typing.clear()
            // The latest question's buttons stay pickable until the visitor answers (a "sorry?" without buttons
            // in between does not take them away).
            if (m.quickReplies.isNotEmpty()) quickReplies = m.quickReplies
            // Shown = read: the team sees "seen" and no unread badge is left for it.
            if (!fromHistory) client.markRead(m.conversationId, seq)
        }
    }

    /** Non-refused messages still waiting for the server. */
    internal fun waitingSends() = client.pendingSends().filter { it.state !is MessageState.Wedged }

    /** End of input: keep rendering events until the queue is empty (at most 30 s), then leave. */
    private suspend fun drain(inbox: ReceiveChannel<Input>) {
        withTimeoutOrNull(30_000) {
            while (waitingSends().isNotEmpty()) {
                (withTimeoutOrNull(200) { inbox.receive() } as? Input.Event)?.let { onEvent(it.event) }
            }
        }
        generateSequence { inbox.tryReceive().getOrNull() }.filterIsInstance<Input.Event>().forEach { onEvent(it.event) }
        // A confirmation whose event is still on its way is in the store already.
        conversation?.let { c -> client.messages(c.id).forEach { show(it) } }
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
        a.size >= 1_000_000uL -> "%.1f MB".format(a.size.toDouble() / 1e6)
        a.size >= 1_000uL -> "${a.size / 1_000uL} kB"
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
