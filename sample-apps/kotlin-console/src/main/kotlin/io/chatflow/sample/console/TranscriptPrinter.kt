package io.chatflow.sample.console

import io.chatflow.AuthorKind
import io.chatflow.ChatMessage
import io.chatflow.ConversationState
import io.chatflow.ConversationStatus
import io.chatflow.Delivery

/**
 * Prints what changed between two states of the conversation: new messages, the delivery of the visitor's messages
 * (✓ sent, ✓✓ seen, ✗ not sent), typing, the team joining, closing and reopening. A screen that can redraw renders
 * [ConversationState] as it is (each message keyed by `id`, its `delivery` as the tick); a terminal prints the news.
 */
class TranscriptPrinter(private val screen: ChatScreen) {
    private val term get() = screen.term

    /** The last state printed; `null` until the conversation is followed. */
    private var last: ConversationState? = null

    /** Every message id on screen with the delivery it shows. */
    private val printed = HashMap<Long, Delivery>()

    /** Seqs up to this existed before the chat opened: a catch-up filling the store is not news. */
    private var baseline = 0L

    /** The intro showed the welcome and no team message has been shown since. */
    internal var welcomeOnScreen = false

    /** The newest visitor message the team has been shown to have seen. */
    private var seenShown = 0L

    /** The first snapshot: its messages are the device's history, shown (or not) by the intro, never as news. */
    fun started(first: ConversationState) {
        last = first
        first.messages.forEach { printed[it.id] = it.delivery }
        baseline = first.messages.maxOfOrNull { it.message.seq ?: 0L } ?: 0L
        seenShown = newestSeenByTeam(first)
    }

    /** A message the screen just put up itself (the local echo `send` returned), so that only its delivery is news. */
    fun echoed(echo: ChatMessage) {
        printed[echo.localId] = Delivery.Queued
    }

    fun changed(next: ConversationState) {
        val before = last ?: return started(next)
        last = next
        val details = next.details
        if (details.status != before.details.status) {
            term.say(
                if (details.status == ConversationStatus.CLOSED) term.yellow("the team closed this conversation (writing reopens it)")
                else term.dim("conversation reopened"),
            )
        }
        details.assignee?.takeIf { it.id != before.details.assignee?.id }?.let { term.say(term.dim("${it.displayName} joined the conversation")) }
        for (item in next.messages) {
            val shown = printed[item.id]
            if (shown == null) {
                printed[item.id] = item.delivery
                val seq = item.message.seq ?: 0L
                if (seq == 0L || seq > baseline) message(item.message, live = true)
            } else if (shown != item.delivery) {
                printed[item.id] = item.delivery
                delivery(item.message, shown, item.delivery)
            }
        }
        val seen = newestSeenByTeam(next)
        if (seen > seenShown) {
            seenShown = seen
            term.say(term.dim("  ✓✓ seen by the team"))
        }
        val typingBefore = before.details.typing.mapTo(HashSet()) { it.displayName }
        for (t in details.typing) {
            if (t.kind != AuthorKind.VISITOR && t.displayName !in typingBefore) {
                term.say(term.dim("${t.displayName ?: authorWord(t.kind)} is typing…"))
            }
        }
    }

    /** A message appearing on screen. [live]: new while the chat is open, so it is read as it is shown. */
    fun message(m: ChatMessage, live: Boolean = false) {
        val mine = m.author.kind == AuthorKind.VISITOR
        // The server stores the welcome as the conversation's first team message — not always its first message: a
        // bot's greeting may come after the visitor's first words. It is on screen already, from the intro.
        if (!mine && welcomeOnScreen) {
            welcomeOnScreen = false
            if (m.body == screen.flow.welcomeMessage) return
        }
        val name = if (mine) term.cyan("you") else term.magenta(m.author.displayName ?: authorWord(m.author.kind))
        term.say("${term.dim(clock(m.createdAt))} $name: ${m.body}")
        m.attachments.forEach { term.say("    ${attachmentLine(it)}") }
        if (m.quickReplies.isNotEmpty()) {
            term.say("    " + m.quickReplies.mapIndexed { i, r -> "${term.bold("[${i + 1}]")} ${r.label}" }.joinToString("   "))
        }
        // Shown = read: the team sees "seen" and no unread badge is left for it.
        if (!mine && live) m.seq?.let { screen.client.markRead(m.conversationId, it) }
    }

    private fun delivery(m: ChatMessage, shown: Delivery, now: Delivery) {
        when (now) {
            // Read implies sent: a message confirmed and read between two states still says "sent" once.
            Delivery.Sent, Delivery.ReadByTeam -> if (shown == Delivery.Queued || shown == Delivery.Sending) {
                term.say(term.dim("  ✓ sent #${m.seq}"))
            }
            is Delivery.Failed -> term.say(term.red("  ✗ not sent (${now.code.name.lowercase()}): ${now.message}"))
            Delivery.Queued, Delivery.Sending, Delivery.Received -> {}
        }
    }

    /** The seq of the newest visitor message the team has read, 0 if none. */
    private fun newestSeenByTeam(s: ConversationState): Long =
        s.messages.lastOrNull { it.delivery == Delivery.ReadByTeam }?.message?.seq ?: 0L
}
