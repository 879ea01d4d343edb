package io.chatflow

/** Process-wide SDK settings: version and logging. */
object Chatflow {
    /** The SDK version (`0.1.0`). */
    val sdkVersion: String get() = io.chatflow.sdkVersion()

    /**
     * Sends the SDK's logs at [level] and above to [sink], on any thread (keep it fast; do not call the SDK from it).
     * Replaces the previous logger. Android: `Chatflow.logToLogcat()`.
     */
    fun setLogger(level: LogLevel, sink: (LogRecord) -> Unit) = ffi {
        CallbackThreads.install()
        io.chatflow.setLogger(LambdaLogger(sink), level)
    }

    /** Stops forwarding logs. */
    fun clearLogger() = io.chatflow.clearLogger()
}

private class LambdaLogger(private val sink: (LogRecord) -> Unit) : Logger {
    override fun log(record: LogRecord) {
        try {
            sink(record)
        } catch (e: Exception) {
            // The logger has nowhere to report its own failure; tell Rust so it drops the line.
            throw NativeException.Internal("app logger threw: $e")
        }
    }
}
