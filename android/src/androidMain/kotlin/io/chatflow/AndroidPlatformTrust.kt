package io.chatflow

import android.content.Context

/**
 * Hands the app's [Context] to the native library once, before the first connection: the SDK verifies TLS with
 * Android's own trust manager (system, user and MDM CAs, the app's `network_security_config`) through JNI, which
 * needs the JVM and a Context. [ChatflowClient.open] with a Context calls it; call it yourself only if you open
 * the client with a plain directory. Idempotent. Android-only source set: not compiled by the JVM test build.
 */
object AndroidPlatformTrust {
    @Volatile private var initialised = false

    fun init(context: Context) {
        if (initialised) return
        synchronized(this) {
            if (initialised) return
            // The same library UniFFI loads through JNA; JNI needs it registered with the class loader too.
            System.loadLibrary("chatflow_ffi")
            nativeInit(context.applicationContext)
            initialised = true
        }
    }

    @JvmStatic
    private external fun nativeInit(context: Context)
}
