package io.chatflow

import kotlinx.coroutines.CancellationException

/**
 * Every failure of an SDK call. `message` says what went wrong and what to do.
 *
 * ```
 * try { chat.send(conversationId, "Hi") }
 * catch (e: ChatflowException.ConsentRequired) { showConsent(e.chatflowId) }
 * catch (e: ChatflowException) { if (e.isRetryable) retryLater() else report(e) }
 * ```
 */
sealed class ChatflowException(message: String, cause: Throwable? = null) : Exception(message, cause) {
    /** True when the same call may succeed later without any change (network down, server busy). */
    open val isRetryable: Boolean get() = false

    /** The SDK configuration is wrong (config file, server URL, app id): fix it, retrying will not help. */
    class Config(message: String) : ChatflowException(message)

    /** An argument is not acceptable (empty or too long message, bad email...): fix the call. */
    class InvalidInput(message: String) : ChatflowException(message)

    /** The visitor must accept the chatflow's data-processing notice first ([declined]: they refused earlier). */
    class ConsentRequired(val chatflowId: Long, val declined: Boolean, message: String) : ChatflowException(message)

    /** The server could not be reached. Queued messages are retried automatically; reads can be retried later. */
    class Network(message: String) : ChatflowException(message) {
        override val isRetryable: Boolean get() = true
    }

    /**
     * The server's certificate was refused: its CA is not trusted by the device (nor in the config's
     * `extra_root_certificates`), it does not name the host, it expired, or it matches none of `pinned_spki_sha256`.
     * Not retryable: the message says what to fix. Queued messages stay queued and go out after `resume()` once the
     * server is trusted.
     */
    class Tls(message: String) : ChatflowException(message)

    /**
     * The server refused the request; [code] is the protocol's machine-readable reason (`null` when the answer was
     * not the Chatflow protocol at all: check the server URL).
     */
    class Server(val status: Int, val code: ErrorCode?, private val retryable: Boolean, message: String) :
        ChatflowException(message) {
        override val isRetryable: Boolean get() = retryable
    }

    /** The local database failed (disk full, corrupt file). */
    class Storage(message: String) : ChatflowException(message)

    /** The conversation, chatflow or article does not exist (or is not visible to this visitor). */
    class NotFound(message: String) : ChatflowException(message)

    /** The client was closed, or the user logged out during the call: open a new client. */
    class Closed(message: String) : ChatflowException(message)

    /** A bug in the SDK, or an app callback that threw: the call did not take effect. Report it with the logs. */
    class Internal(message: String, cause: Throwable? = null) : ChatflowException(message, cause)
}

/** Maps the generated errors ([NativeException], [InternalException]) onto [ChatflowException]; anything else (cancellation included) passes through. */
internal const val CLOSED = "the chat client is closed: open a new ChatflowClient"

internal fun Throwable.toChatflowException(): Throwable = when (this) {
    is CancellationException -> this
    is NativeException.Config -> ChatflowException.Config(detail)
    is NativeException.InvalidInput -> ChatflowException.InvalidInput(detail)
    is NativeException.ConsentRequired -> ChatflowException.ConsentRequired(chatflowId, declined, detail)
    is NativeException.Network -> ChatflowException.Network(detail)
    is NativeException.Tls -> ChatflowException.Tls(detail)
    is NativeException.Server -> ChatflowException.Server(status.toInt(), code, retryable, detail)
    is NativeException.Storage -> ChatflowException.Storage(detail)
    is NativeException.NotFound -> ChatflowException.NotFound(detail)
    is NativeException.Closed -> ChatflowException.Closed(detail)
    is NativeException.Internal -> ChatflowException.Internal(detail)
    // A native object used after its release (a call racing close()): the same answer as any call after close().
    is IllegalStateException -> if (message?.endsWith("has already been destroyed") == true) {
        ChatflowException.Closed(CLOSED)
    } else {
        this
    }
    // A panic inside the library, caught by UniFFI before it could cross into the app.
    is InternalException -> ChatflowException.Internal(message ?: "internal error in the Chatflow library", this)
    else -> this
}

/** Runs an FFI call and rethrows its errors as [ChatflowException]. */
internal inline fun <T> ffi(block: () -> T): T =
    try {
        block()
    } catch (e: Exception) {
        throw e.toChatflowException()
    }
