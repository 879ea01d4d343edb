// STUB of the Android SDK's API surface: see android.kt.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.util

object Log {
    const val VERBOSE = 2
    const val DEBUG = 3
    const val INFO = 4
    const val WARN = 5
    const val ERROR = 6

    @JvmStatic
    fun println(priority: Int, tag: String, msg: String): Int = throw UnsupportedOperationException("stub")
}
