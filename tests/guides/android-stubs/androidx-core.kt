// STUB of AndroidX Core's notification API surface (androidx.core:core), for the guide-snippet check only: see
// android.kt. Not our code; the SDK itself does not depend on AndroidX Core.
@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.core.app

import android.app.Notification
import android.app.PendingIntent
import android.content.Context

class NotificationCompat private constructor() {
    class Builder(context: Context, channelId: String) {
        fun setSmallIcon(icon: Int): Builder = throw UnsupportedOperationException("stub")
        fun setContentTitle(title: CharSequence?): Builder = throw UnsupportedOperationException("stub")
        fun setContentText(text: CharSequence?): Builder = throw UnsupportedOperationException("stub")
        fun setNumber(number: Int): Builder = throw UnsupportedOperationException("stub")
        fun setAutoCancel(autoCancel: Boolean): Builder = throw UnsupportedOperationException("stub")
        fun setContentIntent(intent: PendingIntent?): Builder = throw UnsupportedOperationException("stub")
        fun build(): Notification = throw UnsupportedOperationException("stub")
    }
}

class NotificationManagerCompat private constructor() {
    fun notify(tag: String?, id: Int, notification: Notification) {}

    companion object {
        fun from(context: Context): NotificationManagerCompat = throw UnsupportedOperationException("stub")
    }
}
