// STUB of the Android SDK's API surface: see android.kt.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.app

import android.content.ContextWrapper

open class Application : ContextWrapper() {
    open fun onCreate() {}
}

abstract class Service : ContextWrapper() {
    val application: Application get() = throw UnsupportedOperationException("stub")
}

open class Activity : ContextWrapper() {
    val application: Application get() = throw UnsupportedOperationException("stub")
}

class Notification

class PendingIntent private constructor() {
    companion object {
        const val FLAG_IMMUTABLE: Int = 67108864
        fun getActivity(context: android.content.Context, requestCode: Int, intent: android.content.Intent, flags: Int): PendingIntent =
            throw UnsupportedOperationException("stub")
    }
}
