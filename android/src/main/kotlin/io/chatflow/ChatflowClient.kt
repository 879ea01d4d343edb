package io.chatflow

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import java.io.File

/**
 * The chat for one app configuration. Thread-safe: open one per process and share it; [close] it when done.
 *
 * ```
 * val config = ChatflowConfig.fromJson(assets.readText("chatflow.json"))
 * val chat = ChatflowClient.open(context, config)   // Android: noBackupFilesDir/chatflow
 * val flow = (chat.resolve("support").outcome as ResolveOutcome.Found).chatflow
 * chat.events.collect { event -> render(event) }
 * ```
 * Every method throws [ChatflowException] on failure; suspend functions are cancellable and main-safe.
 */
class ChatflowClient private constructor(private val native: NativeChatClient) : AutoCloseable {
    @Volatile private var closed = false

    /** The native client; after [close], every call throws [ChatflowException.Closed]. */
    internal val raw: NativeChatClient
        get() = if (closed) throw ChatflowException.Closed(CLOSED) else native

    companion object {
        /**
         * Opens (or creates) the local database in [storageDir] (app-private: it holds the visitor token). On Android
         * prefer `ChatflowClient.open(context, config)`, which uses `noBackupFilesDir/chatflow` (out of cloud backup
         * and device-to-device transfer); a directory under `filesDir` is backed up unless the app's backup rules
         * exclude it (android/README.md).
         */
        fun open(config: ChatflowConfig, storageDir: File): ChatflowClient {
            CallbackThreads.install()
            return ChatflowClient(ffi { NativeChatClient.open(config, storageDir.path) })
        }
    }

    val config: ChatflowConfig get() = ffi { raw.config() }

    // ---------------------------------------------------------------------------------------------- chatflows

    /** Fetches the chatflow list and team statuses (cheap when nothing changed). */
    suspend fun refreshChatflows(): RefreshOutcome = ffi { raw.refreshChatflows() }

    /** The chatflow to show for [tag] (default: the config's), from the cached list. Local, fast. */
    fun resolve(tag: String? = null, languages: List<String> = emptyList()): ChatflowResolution =
        ffi { raw.resolve(tag, languages) }

    /** Why [resolve] picks what it picks. */
    fun explain(tag: String? = null, languages: List<String> = emptyList()): Explanation =
        ffi { raw.explain(tag, languages) }

    fun emailCapturePrompt(chatflowId: Long): EmailPrompt = ffi { raw.emailCapturePrompt(chatflowId) }

    // ---------------------------------------------------------------------------------------------- consent

    fun consentState(chatflowId: Long): ConsentState = ffi { raw.consentState(chatflowId) }

    /** The visitor tapped "I agree" on the text of version [shownTextVersion]. */
    fun acceptConsent(chatflowId: Long, shownTextVersion: String? = null): ConsentState =
        ffi { raw.acceptConsent(chatflowId, shownTextVersion) }

    fun declineConsent(chatflowId: Long, shownTextVersion: String? = null): ConsentState =
        ffi { raw.declineConsent(chatflowId, shownTextVersion) }

    fun setCommunicationOptIn(chatflowId: Long, optedIn: Boolean): ConsentState =
        ffi { raw.setCommunicationOptIn(chatflowId, optedIn) }

    // ---------------------------------------------------------------------------------------------- session

    /** The session as known locally (`null` before the first need). Tokens never leave the SDK. */
    val session: SessionInfo? get() = ffi { raw.sessionInfo() }

    suspend fun ensureSession(): SessionInfo = ffi { raw.ensureSession() }

    /** Binds the chat to the app's signed-in user ([identityToken] signed by the app's backend). */
    suspend fun identify(identityToken: String, email: String? = null): IdentifyOutcome =
        ffi { raw.identify(identityToken, email) }

    /**
     * Where the SDK gets a fresh identity token when the server says the current one expired (`null` removes it).
     * Called on an SDK worker thread, never the main thread; throw to say none is available.
     */
    fun setIdentityTokenProvider(provider: (suspend (userId: String) -> String)?) = ffi {
        raw.setIdentityTokenProvider(provider?.let { TokenProvider(it) })
    }

    /** Forgets the visitor on this device: local data wiped; the next use starts a new anonymous visitor. */
    suspend fun logout() = ffi { raw.logout() }

    /** Deletes everything the server and this device hold about the visitor, then logs out. */
    suspend fun clearUserData() = ffi { raw.clearUserData() }

    // ---------------------------------------------------------------------------------------------- profile

    suspend fun setChatProperties(properties: Map<String, String>) = ffi { raw.setChatProperties(properties) }

    fun chatProperties(): Map<String, String> = ffi { raw.chatProperties() }

    /** Reports the device; defaults to plain JVM properties (Android: `reportDevice(context)`). */
    suspend fun setDeviceInfo(device: DeviceInfo = JvmDevice.info()) = ffi { raw.setDeviceInfo(device) }

    suspend fun registerPushToken(token: String, platform: PushPlatform = PushPlatform.FCM) =
        ffi { raw.registerPushToken(token, platform) }

    suspend fun provideEmail(email: String) = ffi { raw.provideEmail(email) }

    // ---------------------------------------------------------------------------------------------- messaging

    /** Starts (or returns the open) conversation of the visitor on a resolved chatflow. */
    suspend fun openConversation(chatflowId: Long): ChatConversation = ffi { raw.openConversation(chatflowId) }

    /** The visitor's conversations on the device, newest first, with unread counts. */
    fun conversations(): List<ChatConversation> = ffi { raw.conversations() }

    suspend fun refreshConversations(): List<ChatConversation> = ffi { raw.refreshConversations() }

    /**
     * Queues [text] and returns its local echo at once: it is on the device before this returns and is delivered in
     * order, exactly once, whenever the server is reachable. Throws [ChatflowException.ConsentRequired] when the
     * visitor has not accepted the chatflow's data-processing notice.
     */
    fun send(conversationId: String, text: String): ChatMessage = ffi { raw.send(conversationId, text) }

    fun sendQuickReply(conversationId: String, reply: QuickReply): ChatMessage =
        ffi { raw.sendQuickReply(conversationId, reply) }

    /**
     * Answers the satisfaction survey whose prompt is message [surveySeq] (a message whose `survey` is a
     * `MessageSurvey.Prompt`): [rating] within the prompt's scale, an optional [comment]. Queued like [send]
     * (offline-safe, delivered once); returns the answer's echo. Throws [ChatflowException.InvalidInput] for a rating
     * or comment the prompt does not accept, or a survey already answered; [ChatflowException.NotFound] for an unknown
     * prompt (a negative [surveySeq] included).
     */
    fun answerSurvey(conversationId: String, surveySeq: Long, rating: Int, comment: String? = null): ChatMessage =
        ffi { raw.answerSurvey(conversationId, surveySeq, rating, comment) }

    fun retrySend(clientMessageId: String) = ffi { raw.retrySend(clientMessageId) }

    fun editQueued(clientMessageId: String, text: String): ChatMessage = ffi { raw.editQueued(clientMessageId, text) }

    fun deleteQueued(clientMessageId: String) = ffi { raw.deleteQueued(clientMessageId) }

    /** Messages not yet confirmed by the server (queued, sending, wedged), oldest first. */
    fun pendingSends(): List<ChatMessage> = ffi { raw.pendingSends() }

    /**
     * One page of history, ascending: up to [limit] messages (1..500: the SDK clamps it) before [beforeSeq] (default:
     * the latest; a negative one is before every message), local echoes last. When the device holds the whole page it
     * answers at once (a local read, no network, no thread switch); otherwise the missing part is fetched first
     * (offline: what the device has).
     */
    suspend fun messages(conversationId: String, beforeSeq: Long? = null, limit: Int = 50): List<ChatMessage> {
        val onDevice = messagesOnDevice(conversationId, beforeSeq, limit)
        if (onDevice.complete) return onDevice.messages
        return ffi { raw.messages(conversationId, beforeSeq, limit) }
    }

    /**
     * The same page from the device only, at once: for a conversation screen's first frame. [HistoryPage.complete]
     * is false when part of it is not on the device yet ([messages] fetches it).
     */
    fun messagesOnDevice(conversationId: String, beforeSeq: Long? = null, limit: Int = 50): HistoryPage =
        ffi { raw.messagesOnDevice(conversationId, beforeSeq, limit) }

    /** The visitor read everything up to [seq] (default: the newest message). */
    fun markRead(conversationId: String, seq: Long? = null) = ffi { raw.markRead(conversationId, seq) }

    fun setTyping(conversationId: String, typing: Boolean) = ffi { raw.setTyping(conversationId, typing) }

    fun unreadCounts(): UnreadCounts = ffi { raw.unreadCounts() }

    val connectionState: ConnectionState get() = ffi { raw.connectionState() }

    /**
     * The chat's events: the current state first (connection, pending sends, unread counts), then every change.
     * Collecting starts background sync; cancelling the collector stops the subscription. Buffered: a slow
     * collector never blocks the SDK (events are coarse, one per batch). The subscription starts when collection
     * does, and what happened before it is not replayed (only the current state is; the store has the rest): when a
     * screen collects in a new coroutine and may send at once, wait for the first event (the replayed connection
     * state) before sending.
     */
    val events: Flow<ChatEvent> = callbackFlow {
        val handle = ffi {
            raw.subscribe(object : ChatEventListener {
                override fun onEvent(event: ChatEvent) {
                    trySend(event)
                }
            })
        }
        awaitClose {
            handle.cancel()
            handle.close()
        }
    }.buffer(Channel.UNLIMITED)

    /**
     * The app went to the background: sends what is queued now, keeps the connection for a grace period (10 s: a
     * quick return needs no reconnect), then closes it and stops retrying until [resume]; sending stops after 25 s
     * whatever is left. Returns when that is done. `ChatflowClient.open(context, config)` calls it for you when the
     * app's process stops being visible ([ChatflowLifecycle]). [BackgroundOutcome.stillQueued] > 0: the network did
     * not let everything go; a later background job may call it again. [BackgroundOutcome.interrupted]: [resume] (or
     * another call) came first.
     */
    suspend fun enterBackground(): BackgroundOutcome = ffi { raw.enterBackground() }

    /** Closes the connection and pauses sending at once (messages stay queued); prefer [enterBackground]. */
    fun pause() = ffi { raw.pause() }

    /**
     * The app is in the foreground (or the network is back): connect, catch up and send now, skipping backoff. Ends a
     * background period that has not closed the connection yet, which then stays open.
     */
    fun resume() = ffi { raw.resume() }

    // ---------------------------------------------------------------------------------------------- attachments

    /**
     * Sends [file] in a message, with an optional [caption], through the same ordered queue as text: a text sent after
     * it arrives after it. The SDK copies the file into its own storage before this returns (the app may delete
     * [file] then), checks it against [attachmentLimits] and returns the local echo; `ChatEvent.UploadProgress`
     * follows the upload, which resumes after a cut or a restart. Throws [ChatflowException.InvalidInput] when the
     * file is refused before anything is queued, its message naming the rule: `file_too_large`,
     * `unsupported_media_type` (the bytes are no accepted type) or `content_mismatch` ([mimeType] contradicts the
     * bytes; `null` lets the bytes decide). A later refusal by the server wedges the message with that code.
     * Runs on [Dispatchers.IO]: copying a large file takes a moment.
     */
    suspend fun sendFile(
        conversationId: String,
        file: File,
        fileName: String = file.name,
        mimeType: String? = null,
        caption: String? = null,
    ): ChatMessage = withContext(Dispatchers.IO) { ffi { raw.sendFile(conversationId, file.path, fileName, mimeType, caption) } }

    /** Like [sendFile], from bytes in memory (a bitmap the app encoded, a generated PDF). */
    suspend fun sendFile(
        conversationId: String,
        bytes: ByteArray,
        fileName: String,
        mimeType: String? = null,
        caption: String? = null,
    ): ChatMessage = withContext(Dispatchers.IO) {
        ffi { raw.sendFileBytes(conversationId, bytes, fileName, mimeType, caption) }
    }

    /** Several files in one message, in this order (at most `attachmentLimits().maxPerMessage`). */
    suspend fun sendFiles(conversationId: String, files: List<File>, caption: String? = null): ChatMessage =
        withContext(Dispatchers.IO) {
            ffi { raw.sendFiles(conversationId, files.map { OutgoingFileRef(it.path, it.name, null) }, caption) }
        }

    /** What the server accepts: size per file, files per message, types (from the last chatflow list). */
    fun attachmentLimits(): AttachmentLimits = ffi { raw.attachmentLimits() }

    /**
     * The attachment's bytes as a local file: downloaded on first use (resumed after a cut), checked against its
     * SHA-256, then kept in the SDK's bounded cache until evicted or [logout]. Read it, copy it; do not keep the path.
     */
    suspend fun downloadAttachment(attachmentId: String): File = File(ffi { raw.downloadAttachment(attachmentId) })

    /** An image attachment's thumbnail (made by the server) as a local file, cached like [downloadAttachment]. */
    suspend fun attachmentThumbnail(attachmentId: String): File = File(ffi { raw.attachmentThumbnail(attachmentId) })

    // ---------------------------------------------------------------------------------------------- knowledge base

    /**
     * Brings knowledge base [kbId] (`ResolvedChatflow.knowledgeBaseId`) up to date on the device and makes it the one
     * [searchKnowledgeBase] searches; resumable. [onProgress] gets (articles done, total) on an SDK thread.
     */
    suspend fun syncKnowledgeBase(kbId: Long, onProgress: ((done: Int, total: Int) -> Unit)? = null): KbSyncReport =
        ffi {
            raw.syncKnowledgeBase(kbId, onProgress?.let { f ->
                object : KbSyncProgress {
                    override fun onProgress(done: Int, total: Int) = f(done, total)
                }
            })
        }

    /**
     * Searches the current knowledge base: offline once synced, else on the server. See [SearchHit.highlightRanges].
     * A [limit] of 0 or less finds nothing; a negative [offset] starts at the first hit.
     */
    suspend fun searchKnowledgeBase(query: String, language: String? = null, limit: Int = 20, offset: Int = 0): SearchResults =
        ffi { raw.searchKb(query, language, limit, offset) }

    /** The full article from the device (`null` when not synced). */
    fun article(id: Long): Article? = ffi { raw.article(id) }

    /** Releases the native client; background work stops. Calls after this throw [ChatflowException.Closed]. */
    override fun close() {
        closed = true
        native.close()
    }
}

/** The parts of [SearchHit.snippet] that matched the query, as string index ranges (for bold text). */
fun SearchHit.highlightRanges(): List<IntRange> {
    val bytes = snippet.encodeToByteArray()
    fun charIndex(byteOffset: Int) = String(bytes, 0, byteOffset.coerceIn(0, bytes.size), Charsets.UTF_8).length
    return highlights.mapNotNull { r ->
        val start = charIndex(r.start)
        val end = charIndex(r.end)
        if (end > start) start until end else null
    }
}

/** Builds a [ChatflowConfig] from the text of the app's `chatflow.json`; the error names the wrong field. */
fun ChatflowConfig.Companion.fromJson(json: String): ChatflowConfig = ffi { configFromJson(json) }

private class TokenProvider(private val fetch: suspend (String) -> String) : IdentityTokenProvider {
    // An SDK worker thread that may block: bridging to the app's suspend function is safe here.
    override fun freshIdentityToken(userId: String): String = try {
        runBlocking { fetch(userId) }
    } catch (e: ChatflowException) {
        throw NativeException.Internal(e.message ?: "no identity token")
    } catch (e: Exception) {
        throw NativeException.Internal("identity token provider failed: $e")
    }
}
