package io.chatflow.sample.console

import io.chatflow.ChatConversation
import io.chatflow.ChatflowClient
import io.chatflow.ChatflowConfig
import io.chatflow.ChatflowException
import io.chatflow.ConversationStatus
import io.chatflow.ResolveOutcome
import io.chatflow.ResolvedChatflow
import io.chatflow.fromJson
import java.io.File
import java.io.IOException

/** Reads the SDK config; the SDK validates it and names the wrong field. (Android: read it from assets.) */
fun loadConfig(file: File): ChatflowConfig {
    if (!file.isFile) {
        throw AppError("config file $file: not found (pass --config FILE or set CHATFLOW_CONFIG)", EXIT_CONFIG)
    }
    val json = try {
        file.readText()
    } catch (e: IOException) {
        throw AppError("config file $file: cannot read it: ${e.message}", EXIT_CONFIG)
    }
    return try {
        ChatflowConfig.fromJson(json)
    } catch (e: ChatflowException.Config) {
        throw AppError("config file $file: ${e.message}", EXIT_CONFIG)
    }
}

/**
 * One folder per app and server: a visitor token of one server means nothing to another.
 * (Android: `ChatflowClient.open(context, config)` uses `noBackupFilesDir/chatflow`, private and never backed up.)
 */
fun defaultDataDir(config: ChatflowConfig): File {
    val base = System.getenv("XDG_DATA_HOME")?.takeIf { it.isNotEmpty() }
        ?: File(System.getProperty("user.home"), ".local/share").path
    val server = config.serverUrl.substringAfter("://").trimEnd('/')
    val name = "${config.appId}@$server".replace(Regex("[^A-Za-z0-9._@-]"), "_")
    return File(File(base, "chatflow-kotlin-console"), name)
}

/**
 * The chatflow to open for [tag]: refresh the list (cheap when unchanged), then resolve locally. Without network the
 * cached list still answers, as it would in an app opened offline.
 */
suspend fun resolveChatflow(client: ChatflowClient, tag: String?, languages: List<String>, term: Terminal): ResolvedChatflow {
    try {
        client.refreshChatflows()
    } catch (e: ChatflowException.Network) {
        if (client.resolve(tag, languages).cache.fetchedAt == null) {
            throw AppError("cannot reach the server at ${client.config.serverUrl}: ${e.message}", EXIT_NETWORK)
        }
        term.warn("${e.message}; using the chatflow list cached on this device")
    }
    val shownTag = tag ?: client.config.defaultTag
    return when (val outcome = client.resolve(tag, languages).outcome) {
        is ResolveOutcome.Found -> outcome.chatflow.also {
            term.say(term.dim("tag `$shownTag` → chatflow ${it.chatflowId} “${it.name}” (${kindWord(it)}, ${it.language})"))
        }
        is ResolveOutcome.NotFound -> {
            val known = client.explain(outcome.tag, languages).knownTags
            throw AppError(
                "no enabled chatflow carries the tag `${outcome.tag}`; tags that exist: " +
                    known.ifEmpty { listOf("none") }.joinToString(", "),
                EXIT_NOT_FOUND,
            )
        }
        is ResolveOutcome.AllHidden -> {
            val until = outcome.nextChangeAt?.let { " until ${dateAndClock(it)}" } ?: ""
            throw AppError(
                "every chatflow for tag `${outcome.tag}` hides its chat button right now (team away)$until",
                EXIT_NOT_FOUND,
            )
        }
    }
}

/**
 * The conversation to continue: the newest open one on this chatflow (asking the server for the list when this
 * device already has a visitor). `null` until the first message opens one: no empty conversations in the inbox.
 */
suspend fun currentConversation(client: ChatflowClient, chatflowId: Long, term: Terminal): ChatConversation? {
    if (client.session?.visitorId != null) {
        try {
            client.refreshConversations()
        } catch (e: ChatflowException) {
            if (!e.isRetryable) throw e
            term.warn("${e.message}; showing the conversations stored on this device")
        }
    }
    // conversations() is newest first.
    return client.conversations().firstOrNull { it.chatflowId == chatflowId && it.status == ConversationStatus.OPEN }
}

fun kindWord(flow: ResolvedChatflow): String = flow.kind.name.lowercase().replace('_', ' ')
