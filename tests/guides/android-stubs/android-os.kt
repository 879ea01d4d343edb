// STUB of the Android SDK's API surface: see android.kt.
@file:Suppress("unused")

package android.os

object Build {
    @JvmField val MANUFACTURER: String = ""
    @JvmField val MODEL: String = ""

    object VERSION {
        @JvmField val RELEASE: String = ""
        @JvmField val SDK_INT: Int = 0
    }
}

class Looper private constructor() {
    companion object {
        @JvmStatic
        fun getMainLooper(): Looper = throw UnsupportedOperationException("stub")
    }
}

open class Handler(looper: Looper) {
    fun post(r: Runnable): Boolean = throw UnsupportedOperationException("stub")
}
