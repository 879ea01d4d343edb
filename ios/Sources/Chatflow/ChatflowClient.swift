import ChatflowBindings
import Foundation

/// The chat for one app configuration. Thread-safe and `Sendable`: open one and share it.
///
/// ```swift
/// let chat = try ChatflowClient(config: .fromJSON(json), storageDirectory: appSupport)
/// guard case .found(let flow) = try chat.resolve(tag: "support").outcome else { return }
/// for await event in chat.events { render(event) }
/// ```
/// Every method throws ``ChatflowError``; async methods are cancellable and never block the caller's thread.
public final class ChatflowClient: Sendable {
    let raw: NativeChatClient

    /// Opens (or creates) the local database in `storageDirectory` (app-private, e.g. Application Support: it holds
    /// the visitor token). No network; a few milliseconds. On Apple platforms the directory and its files get the
    /// protection class `completeUntilFirstUserAuthentication` (readable in the background once the phone was unlocked
    /// after boot) and are excluded from backups; give the SDK a directory of its own (e.g. `Application
    /// Support/chatflow`), since both apply to everything in it.
    public init(config: ChatflowConfig, storageDirectory: URL) throws(ChatflowError) {
        try StorageProtection.prepare(storageDirectory)
        raw = try ffi { try NativeChatClient.open(config: config, storageDir: storageDirectory.path) }
    }

    public var config: ChatflowConfig { raw.config() }

    // MARK: Chatflows

    /// Fetches the chatflow list and team statuses (cheap when nothing changed).
    @discardableResult
    public func refreshChatflows() async throws(ChatflowError) -> RefreshOutcome {
        try await ffiAsync { try await raw.refreshChatflows() }
    }

    /// The chatflow to show for `tag` (default: the config's), from the cached list. Local, fast.
    public func resolve(tag: String? = nil, languages: [String] = []) throws(ChatflowError) -> ChatflowResolution {
        try ffi { try raw.resolve(tag: tag, languages: languages) }
    }

    /// Why ``resolve(tag:languages:)`` picks what it picks.
    public func explain(tag: String? = nil, languages: [String] = []) throws(ChatflowError) -> Explanation {
        try ffi { try raw.explain(tag: tag, languages: languages) }
    }

    public func emailCapturePrompt(chatflowId: Int64) throws(ChatflowError) -> EmailPrompt {
        try ffi { try raw.emailCapturePrompt(chatflowId: chatflowId) }
    }

    // MARK: Consent

    public func consentState(chatflowId: Int64) throws(ChatflowError) -> ConsentState {
        try ffi { try raw.consentState(chatflowId: chatflowId) }
    }

    /// The visitor tapped "I agree" on the text of version `shownTextVersion`.
    @discardableResult
    public func acceptConsent(chatflowId: Int64, shownTextVersion: String? = nil) throws(ChatflowError) -> ConsentState {
        try ffi { try raw.acceptConsent(chatflowId: chatflowId, shownTextVersion: shownTextVersion) }
    }

    @discardableResult
    public func declineConsent(chatflowId: Int64, shownTextVersion: String? = nil) throws(ChatflowError) -> ConsentState {
        try ffi { try raw.declineConsent(chatflowId: chatflowId, shownTextVersion: shownTextVersion) }
    }

    @discardableResult
    public func setCommunicationOptIn(chatflowId: Int64, optedIn: Bool) throws(ChatflowError) -> ConsentState {
        try ffi { try raw.setCommunicationOptIn(chatflowId: chatflowId, optedIn: optedIn) }
    }

    // MARK: Session

    /// The session as known locally (`nil` before the first need). Tokens never leave the SDK.
    public var session: SessionInfo? { raw.sessionInfo() }

    @discardableResult
    public func ensureSession() async throws(ChatflowError) -> SessionInfo {
        try await ffiAsync { try await raw.ensureSession() }
    }

    /// Binds the chat to the app's signed-in user (`identityToken` signed by the app's backend).
    @discardableResult
    public func identify(identityToken: String, email: String? = nil) async throws(ChatflowError) -> IdentifyOutcome {
        try await ffiAsync { try await raw.identify(identityToken: identityToken, email: email) }
    }

    /// Where the SDK gets a fresh identity token when the server says the current one expired (`nil` removes it).
    /// Called on an SDK worker thread; throw to say none is available.
    public func setIdentityTokenProvider(_ provider: (@Sendable (_ userId: String) async throws -> String)?) throws(ChatflowError) {
        try ffi { try raw.setIdentityTokenProvider(provider: provider.map(TokenProviderBridge.init)) }
    }

    /// Forgets the visitor on this device: local data wiped; the next use starts a new anonymous visitor.
    public func logout() async throws(ChatflowError) {
        try await ffiAsync { try await raw.logout() }
    }

    /// Deletes everything the server and this device hold about the visitor, then logs out.
    public func clearUserData() async throws(ChatflowError) {
        try await ffiAsync { try await raw.clearUserData() }
    }

    // MARK: Profile

    public func setChatProperties(_ properties: [String: String]) async throws(ChatflowError) {
        try await ffiAsync { try await raw.setChatProperties(properties: properties) }
    }

    public func chatProperties() throws(ChatflowError) -> [String: String] {
        try ffi { try raw.chatProperties() }
    }

    /// Reports the device (OS, model, app version, locale) for the team's inbox.
    public func setDeviceInfo(_ device: DeviceInfo = .current()) async throws(ChatflowError) {
        try await ffiAsync { try await raw.setDeviceInfo(device: device) }
    }

    public func registerPushToken(_ token: String, platform: PushPlatform = .apns) async throws(ChatflowError) {
        try await ffiAsync { try await raw.registerPushToken(token: token, platform: platform) }
    }

    public func provideEmail(_ email: String) async throws(ChatflowError) {
        try await ffiAsync { try await raw.provideEmail(email: email) }
    }
}

extension ChatflowClient {
    // MARK: Conversations and messages

    /// Starts (or returns the open) conversation of the visitor on a resolved chatflow.
    public func openConversation(chatflowId: Int64) async throws(ChatflowError) -> ChatConversation {
        try await ffiAsync { try await raw.openConversation(chatflowId: chatflowId) }
    }

    /// The visitor's conversations on the device, newest first, with unread counts.
    public func conversations() throws(ChatflowError) -> [ChatConversation] {
        try ffi { try raw.conversations() }
    }

    @discardableResult
    public func refreshConversations() async throws(ChatflowError) -> [ChatConversation] {
        try await ffiAsync { try await raw.refreshConversations() }
    }

    /// Queues `text` and returns its local echo at once: it is on the device before this returns and is delivered in
    /// order, exactly once, whenever the server is reachable. Throws ``ChatflowError/consentRequired(chatflowId:declined:_:)``
    /// when the visitor has not accepted the chatflow's data-processing notice.
    @discardableResult
    public func send(_ text: String, in conversationId: String) throws(ChatflowError) -> ChatMessage {
        try ffi { try raw.send(conversationId: conversationId, text: text) }
    }

    @discardableResult
    public func send(_ reply: QuickReply, in conversationId: String) throws(ChatflowError) -> ChatMessage {
        try ffi { try raw.sendQuickReply(conversationId: conversationId, reply: reply) }
    }

    /// Answers the satisfaction survey whose prompt is message `surveySeq` (a message whose `survey` is
    /// `.prompt`): `rating` within the prompt's scale, an optional comment. Queued like `send` (offline-safe,
    /// delivered once); returns the answer's echo. Throws ``ChatflowError/invalidInput(_:)`` for a rating or comment
    /// the prompt does not accept or a survey already answered, ``ChatflowError/notFound(_:)`` for an unknown prompt
    /// (a negative `surveySeq` included).
    @discardableResult
    public func answerSurvey(in conversationId: String, surveySeq: Int64, rating: Int, comment: String? = nil)
        throws(ChatflowError) -> ChatMessage
    {
        // Clamped, a rating beyond Int32 stays outside every scale: the SDK refuses it like any other.
        let rating = Int32(clamping: rating)
        return try ffi {
            try raw.answerSurvey(conversationId: conversationId, surveySeq: surveySeq, rating: rating, comment: comment)
        }
    }

    public func retrySend(clientMessageId: String) throws(ChatflowError) {
        try ffi { try raw.retrySend(clientMessageId: clientMessageId) }
    }

    @discardableResult
    public func editQueued(clientMessageId: String, text: String) throws(ChatflowError) -> ChatMessage {
        try ffi { try raw.editQueued(clientMessageId: clientMessageId, text: text) }
    }

    public func deleteQueued(clientMessageId: String) throws(ChatflowError) {
        try ffi { try raw.deleteQueued(clientMessageId: clientMessageId) }
    }

    /// Messages not yet confirmed by the server (queued, sending, wedged), oldest first.
    public func pendingSends() throws(ChatflowError) -> [ChatMessage] {
        try ffi { try raw.pendingSends() }
    }

    /// One page of history, ascending: up to `limit` messages (1...500: the SDK clamps it) before `beforeSeq`
    /// (default: the latest; a negative one is before every message), local echoes last. When the device holds the
    /// whole page it answers at once (a local read, no network); otherwise the missing part is fetched first
    /// (offline: what the device has).
    public func messages(in conversationId: String, before beforeSeq: Int64? = nil, limit: Int = 50)
        async throws(ChatflowError) -> [ChatMessage]
    {
        let onDevice = try messagesOnDevice(in: conversationId, before: beforeSeq, limit: limit)
        if onDevice.complete { return onDevice.messages }
        return try await ffiAsync {
            try await raw.messages(conversationId: conversationId, beforeSeq: beforeSeq, limit: Int32(clamping: limit))
        }
    }

    /// The same page from the device only, at once: for a conversation screen's first frame. `complete` is false
    /// when part of it is not on the device yet (`messages(in:)` fetches it).
    public func messagesOnDevice(in conversationId: String, before beforeSeq: Int64? = nil, limit: Int = 50)
        throws(ChatflowError) -> HistoryPage
    {
        let limit = Int32(clamping: limit)
        return try ffi { try raw.messagesOnDevice(conversationId: conversationId, beforeSeq: beforeSeq, limit: limit) }
    }

    /// The visitor read everything up to `seq` (default: the newest message).
    public func markRead(_ conversationId: String, upTo seq: Int64? = nil) throws(ChatflowError) {
        try ffi { try raw.markRead(conversationId: conversationId, seq: seq) }
    }

    public func setTyping(_ typing: Bool, in conversationId: String) throws(ChatflowError) {
        try ffi { try raw.setTyping(conversationId: conversationId, typing: typing) }
    }

    public func unreadCounts() throws(ChatflowError) -> UnreadCounts {
        try ffi { try raw.unreadCounts() }
    }

    public var connectionState: ConnectionState { raw.connectionState() }

    // MARK: Events and lifecycle

    /// The chat's events: the current state first (connection, pending sends, unread counts), then every change.
    /// Subscribing starts background sync; ending the iteration (or cancelling its task) stops the subscription.
    /// Unbounded buffer: a slow consumer never blocks the SDK (events are coarse, one per batch).
    public func events() throws(ChatflowError) -> AsyncStream<ChatEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: ChatEvent.self, bufferingPolicy: .unbounded)
        let handle = try ffi { try raw.subscribe(listener: StreamListener(continuation)) }
        continuation.onTermination = { _ in handle.cancel() }
        return stream
    }

    /// The app went to the background: sends what is queued now, keeps the connection for a grace period (10 s: a
    /// quick return needs no reconnect), then closes it and stops retrying until ``resume()``; sending stops after
    /// 25 s whatever is left. Returns when that is done: call it inside `beginBackgroundTask` and end the task then
    /// (``ChatflowAppLifecycle`` does both on iOS). `stillQueued > 0`: the network did not let everything go; a later
    /// background task may call it again. `interrupted`: ``resume()`` (or another call) came first.
    @discardableResult
    public func enterBackground() async throws(ChatflowError) -> BackgroundOutcome {
        try await ffiAsync { try await raw.enterBackground() }
    }

    /// Closes the connection and pauses sending at once (messages stay queued); prefer ``enterBackground()``.
    public func pause() { raw.pause() }

    /// The app is in the foreground (or the network is back): connect, catch up and send now, skipping backoff. Ends
    /// a background period that has not closed the connection yet, which then stays open.
    public func resume() throws(ChatflowError) {
        try ffi { try raw.resume() }
    }
}

extension ChatflowClient {
    // MARK: Attachments

    /// Sends the file at `url` (a file URL) in a message, with an optional caption, through the same ordered queue as
    /// text: a text sent after it arrives after it. The SDK copies the file into its own storage before this returns
    /// (the app may delete it then), checks it against ``attachmentLimits()`` and returns the local echo;
    /// `.uploadProgress` events follow the upload, which resumes after a cut or a restart. Throws
    /// ``ChatflowError/invalidInput(_:)`` when the file is refused before anything is queued, naming the rule:
    /// `file_too_large`, `unsupported_media_type` (the bytes are no accepted type) or `content_mismatch` (`mimeType`
    /// contradicts the bytes; `nil` lets the bytes decide). A later refusal by the server wedges the message.
    /// The copy runs off the caller's thread.
    @discardableResult
    public func sendFile(
        _ url: URL, fileName: String? = nil, mimeType: String? = nil, caption: String? = nil, in conversationId: String
    ) async throws(ChatflowError) -> ChatMessage {
        guard url.isFileURL else { throw .invalidInput("sendFile needs a file URL, got \(url.absoluteString)") }
        let raw = self.raw
        let name = fileName ?? url.lastPathComponent
        return try await ffiAsync {
            try await Task.detached {
                try raw.sendFile(
                    conversationId: conversationId, path: url.path, fileName: name, mimeType: mimeType, caption: caption)
            }.value
        }
    }

    /// Like ``sendFile(_:fileName:mimeType:caption:in:)``, from bytes in memory (an encoded photo, a generated PDF).
    @discardableResult
    public func sendFile(
        _ data: Data, fileName: String, mimeType: String? = nil, caption: String? = nil, in conversationId: String
    ) async throws(ChatflowError) -> ChatMessage {
        let raw = self.raw
        return try await ffiAsync {
            try await Task.detached {
                try raw.sendFileBytes(
                    conversationId: conversationId, bytes: data, fileName: fileName, mimeType: mimeType, caption: caption)
            }.value
        }
    }

    /// What the server accepts: size per file, files per message, types (from the last chatflow list).
    public func attachmentLimits() throws(ChatflowError) -> AttachmentLimits {
        try ffi { try raw.attachmentLimits() }
    }

    /// The attachment's bytes as a local file: downloaded on first use (resumed after a cut), checked against its
    /// SHA-256, then kept in the SDK's bounded cache until evicted or ``logout()``. Read or copy it; do not keep the URL.
    public func downloadAttachment(_ attachmentId: String) async throws(ChatflowError) -> URL {
        URL(fileURLWithPath: try await ffiAsync { try await raw.downloadAttachment(attachmentId: attachmentId) })
    }

    /// An image attachment's thumbnail (made by the server) as a local file, cached like ``downloadAttachment(_:)``.
    public func attachmentThumbnail(_ attachmentId: String) async throws(ChatflowError) -> URL {
        URL(fileURLWithPath: try await ffiAsync { try await raw.attachmentThumbnail(attachmentId: attachmentId) })
    }

    // MARK: Knowledge base

    /// Brings knowledge base `kbId` (`ResolvedChatflow.knowledgeBaseId`) up to date on the device and makes it the one
    /// ``searchKnowledgeBase(_:language:limit:offset:)`` searches; resumable. `onProgress` gets (articles done, total)
    /// on an SDK thread.
    @discardableResult
    public func syncKnowledgeBase(
        kbId: Int64, onProgress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) async throws(ChatflowError) -> KbSyncReport {
        let progress = onProgress.map(ProgressBridge.init)
        return try await ffiAsync { try await raw.syncKnowledgeBase(kbId: kbId, progress: progress) }
    }

    /// Searches the current knowledge base: offline once synced, else on the server. See ``SearchHit/highlightRanges``.
    /// A `limit` of 0 or less finds nothing; a negative `offset` starts at the first hit.
    public func searchKnowledgeBase(_ query: String, language: String? = nil, limit: Int = 20, offset: Int = 0)
        async throws(ChatflowError) -> SearchResults
    {
        let (limit, offset) = (Int32(clamping: limit), Int32(clamping: offset))
        return try await ffiAsync {
            try await raw.searchKb(query: query, language: language, limit: limit, offset: offset)
        }
    }

    /// The full article from the device (`nil` when not synced).
    public func article(id: Int64) throws(ChatflowError) -> Article? {
        try ffi { try raw.article(id: id) }
    }
}

extension SearchHit {
    /// The parts of `snippet` that matched the query (for bold text).
    public var highlightRanges: [Range<String.Index>] {
        let utf8 = snippet.utf8
        return highlights.compactMap { range in
            // Offsets are signed: a negative one would trap in `index(_:offsetBy:limitedBy:)`.
            guard 0 <= range.start, range.start < range.end,
                  let start = utf8.index(utf8.startIndex, offsetBy: Int(range.start), limitedBy: utf8.endIndex),
                  let end = utf8.index(utf8.startIndex, offsetBy: Int(range.end), limitedBy: utf8.endIndex)
            else { return nil }
            return start..<end
        }
    }
}

private final class ProgressBridge: KbSyncProgress {
    let report: @Sendable (Int, Int) -> Void
    init(_ report: @escaping @Sendable (Int, Int) -> Void) { self.report = report }
    func onProgress(done: Int32, total: Int32) throws { report(Int(done), Int(total)) }
}

private final class StreamListener: ChatEventListener {
    let continuation: AsyncStream<ChatEvent>.Continuation
    init(_ continuation: AsyncStream<ChatEvent>.Continuation) { self.continuation = continuation }
    func onEvent(event: ChatEvent) throws { continuation.yield(event) }
}

/// Bridges the app's async provider to the SDK's blocking callback (it runs on an SDK worker thread, never on a
/// Swift concurrency thread, so waiting there is safe).
private final class TokenProviderBridge: IdentityTokenProvider {
    let fetch: @Sendable (String) async throws -> String
    init(_ fetch: @escaping @Sendable (String) async throws -> String) { self.fetch = fetch }

    func freshIdentityToken(userId: String) throws -> String {
        let result = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let fetch = self.fetch
        Task.detached {
            do { result.set(.success(try await fetch(userId))) } catch { result.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        switch result.get() {
        case .success(let token): return token
        case .failure(let error): throw NativeError.Internal(detail: "identity token provider failed: \(error)")
        case nil: throw NativeError.Internal(detail: "identity token provider returned nothing")
        }
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<String, any Error>?
    func set(_ v: Result<String, any Error>) { lock.withLock { value = v } }
    func get() -> Result<String, any Error>? { lock.withLock { value } }
}
