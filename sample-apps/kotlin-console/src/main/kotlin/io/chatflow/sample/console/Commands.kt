package io.chatflow.sample.console

import io.chatflow.ChatflowException
import io.chatflow.MessageState
import io.chatflow.QuickReply
import io.chatflow.highlightRanges

// What the visitor types: an answer to a question, a /command, a quick-reply number, or a message.
// (In an Android app these are the click handlers and the send button, calling the same SDK functions.)

private val HELP = """
      TEXT              send a message
      N                 pick quick reply N of the team's last question
      /history [N]      the last N messages (default 20) with their delivery state
      /search TEXT      search the help articles (when the chatflow has a knowledge base)
      /consent          answer the data-processing question again
      /email ADDRESS    give the team your email address
      /file PATH        send a file (image, PDF, …): uploaded before the messages typed after it
      /pause, /resume   the app goes to the background (offline: messages queue up) and comes back
      /quit             leave (queued messages are kept and sent next time)
""".trimIndent()

/** Handles one line; `false` ends the chat. A refused action is explained and the chat goes on. */
internal suspend fun ChatScreen.onLine(line: String): Boolean {
    term.lineEntered()
    val text = line.trim()
    return try {
        val question = questions.firstOrNull()
        when {
            question != null && !text.startsWith("/") -> answer(question, text)
            text.isEmpty() -> {}
            text.startsWith("/") -> return command(text.removePrefix("/"))
            else -> {
                val reply = text.toIntOrNull()?.let { quickReplies.getOrNull(it - 1) }
                if (reply != null) send(reply.label, reply) else send(text)
            }
        }
        true
    } catch (e: ChatflowException) {
        // The local store or the client itself failing is not something the chat can go on with.
        if (e is ChatflowException.Storage || e is ChatflowException.Closed) throw e
        term.say(term.red("error: ${e.message}"))
        true
    }
}

private suspend fun ChatScreen.command(command: String): Boolean {
    val name = command.substringBefore(' ')
    val arg = command.substringAfter(' ', "").trim()
    when (name) {
        "quit", "exit", "q" -> return false
        "help", "h", "?" -> term.say(HELP)
        "history" -> history(arg.ifEmpty { "20" }.toIntOrNull() ?: return usage("/history N: `$arg` is not a number"))
        "search" -> if (arg.isEmpty()) usage("/search TEXT: what are you looking for?") else search(arg)
        "consent" -> {
            if (Question.CONSENT !in questions) questions.addFirst(Question.CONSENT)
            ask(Question.CONSENT)
        }
        "email" -> if (arg.isEmpty()) usage("/email ADDRESS: which address?") else {
            client.provideEmail(arg)
            term.say(term.dim("✓ email saved: the team can reply there"))
        }
        "file" -> if (arg.isEmpty()) usage("/file PATH: which file?") else sendFile(java.io.File(arg))
        "pause" -> {
            // Android: ProcessLifecycleOwner ON_STOP. The connection closes; sends wait on the device.
            paused = true
            client.pause()
            term.say(term.dim("paused (the app is in the background): messages are queued until /resume"))
        }
        "resume" -> {
            // Android: ON_START. Connects, catches up and sends what is queued, skipping any backoff wait.
            paused = false
            client.resume()
        }
        else -> usage("unknown command /$name; /help lists them")
    }
    return true
}

private fun ChatScreen.usage(text: String): Boolean {
    term.say(term.yellow(text))
    return true
}

private fun ChatScreen.answer(question: Question, text: String) {
    val yes = text.lowercase() in setOf("y", "yes")
    if (!yes && text.lowercase() !in setOf("n", "no")) {
        term.say(term.yellow("please answer y or n"))
        return
    }
    val id = flow.chatflowId
    when (question) {
        Question.CONSENT -> {
            // The version of the text the visitor saw: a changed text asks again.
            val version = flow.consent.processDataTextVersion
            if (yes) {
                client.acceptConsent(id, version)
                term.say(term.green("✓ thank you: consent recorded"))
            } else {
                client.declineConsent(id, version)
                term.say(term.yellow(DECLINED))
            }
        }
        Question.OPT_IN -> {
            client.setCommunicationOptIn(id, yes)
            term.say(term.dim(if (yes) "✓ subscribed" else "not subscribed"))
        }
    }
    // The decision is queued like a message: send it now rather than with the first message.
    if (!paused) client.resume()
    questions.removeFirst()
    questions.firstOrNull()?.let { ask(it) }
}

/** The conversation to send in, opened on first use; `null` (after saying why) while consent is missing. */
private suspend fun ChatScreen.sendingConversation(): io.chatflow.ChatConversation? {
    val consent = client.consentState(flow.chatflowId)
    if (!consent.canSend) {
        term.say(term.yellow(if (Question.CONSENT in questions) "please answer the consent question first (y/n)" else DECLINED))
        return null
    }
    return conversation ?: client.openConversation(flow.chatflowId).also {
        conversation = it
        term.say(term.dim("conversation started"))
        follow(it)
    }
}

/** Android: the photo picker's result, through `sendFile(context, conversationId, uri)`. Copied before it returns. */
private suspend fun ChatScreen.sendFile(file: java.io.File) {
    if (!file.isFile) return term.say(term.yellow("/file: no file at ${file.path}"))
    val c = sendingConversation() ?: return
    val echo = client.sendFile(c.id, file)
    printer.echoed(echo)
    term.say("${term.cyan("you")}: ${attachmentLine(echo.attachments.first())}")
    term.say(term.dim(if (offline || paused) "  … queued: will be sent when back online" else "  … queued"))
}

private suspend fun ChatScreen.send(text: String, reply: QuickReply? = null) {
    val c = sendingConversation() ?: return
    // The local echo is on the device before send returns; delivery shows up later as an event.
    val echo = if (reply != null) client.sendQuickReply(c.id, reply) else client.send(c.id, text)
    printer.echoed(echo)
    quickReplies = emptyList()   // whatever was sent answers the question
    // On a terminal the typed line is on screen already; a pipe's transcript needs it.
    if (!term.interactive || reply != null) term.say("${term.cyan("you")}: $text")
    term.say(term.dim(if (offline || paused) "  … queued: will be sent when back online" else "  … queued"))
}

private suspend fun ChatScreen.history(limit: Int) {
    val c = conversation ?: return term.say(term.dim("no conversation yet: your first message starts one"))
    val page = client.messages(c.id, limit = limit)
    term.say(term.dim("— last ${page.size} message(s) —"))
    for (m in page) {
        val state = when (val s = m.state) {
            MessageState.Queued -> " (queued)"
            MessageState.Sending -> " (sending)"
            MessageState.Sent -> ""
            is MessageState.Wedged -> " (not sent: ${s.message})"
        }
        val who = m.author.displayName ?: authorWord(m.author.kind)
        term.say("${m.seq?.let { "#$it " } ?: ""}${term.dim(dateAndClock(m.createdAt))} $who: ${m.body}${term.dim(state)}")
    }
    client.markRead(c.id)
}

private suspend fun ChatScreen.search(query: String) {
    val kbId = flow.knowledgeBaseId
    if (!flow.knowledgeBaseEnabled || kbId == null) return term.say(term.yellow("this chatflow has no knowledge base to search"))
    if (!kbSynced) {
        // Once per run (an app would sync when its help screen opens); afterwards search works offline.
        try {
            val report = client.syncKnowledgeBase(kbId)
            kbSynced = true
            term.say(term.dim("knowledge base synced: ${report.articles} article(s) on this device"))
        } catch (e: ChatflowException) {
            if (!e.isRetryable) throw e
            term.say(term.dim("(not synced: ${e.message}; searching what is available)"))
        }
    }
    val hits = client.searchKnowledgeBase(query, language = flow.language, limit = 5).hits
    if (hits.isEmpty()) return term.say("no article matches “$query”")
    hits.forEachIndexed { i, hit ->
        // Bold the matched words on a terminal; a pipe gets the plain snippet.
        var snippet = hit.snippet
        for (r in hit.highlightRanges().reversed()) {
            snippet = snippet.replaceRange(r, term.bold(snippet.substring(r)))
        }
        term.say("${i + 1}. ${term.bold(hit.title)}\n   ${snippet.replace('\n', ' ')}\n   ${term.dim(hit.url)}")
    }
}
