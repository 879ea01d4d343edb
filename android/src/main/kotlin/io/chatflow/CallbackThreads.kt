package io.chatflow

import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native

/**
 * Rust calls back into the JVM from the SDK's worker threads: to complete every `suspend` call, to deliver events
 * and log lines. By default JNA attaches such a native thread to the JVM for each callback and detaches it after,
 * which costs tens of microseconds per callback (measured: a 100-message page 296 µs attached vs 360 µs detached). The
 * SDK's threads are few and long-lived: keep them attached (as daemon threads, named `chatflow-callback`); JNA
 * detaches them when they exit.
 */
internal object CallbackThreads {
    private val keepAttached = CallbackThreadInitializer(true, false, "chatflow-callback")

    fun install() = Unit // the work happens once, in init

    init {
        listOf(
            uniffiRustFutureContinuationCallbackImpl,
            uniffiCallbackInterfaceChatEventListener.onEvent,
            uniffiCallbackInterfaceLogger.log,
            uniffiCallbackInterfaceKbSyncProgress.onProgress,
            uniffiCallbackInterfaceIdentityTokenProvider.freshIdentityToken,
        ).forEach { Native.setCallbackThreadInitializer(it, keepAttached) }
    }
}
