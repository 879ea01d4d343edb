// STUB of Firebase Cloud Messaging's API surface (com.google.firebase:firebase-messaging), for the guide-snippet
// check only: see android.kt. Not our code; the SDK itself has no Firebase dependency.
@file:Suppress("unused", "UNUSED_PARAMETER")

package com.google.firebase.messaging

abstract class FirebaseMessagingService : android.app.Service() {
    open fun onMessageReceived(message: RemoteMessage) {}
    open fun onNewToken(token: String) {}
}

class RemoteMessage private constructor() {
    val data: Map<String, String> get() = throw UnsupportedOperationException("stub")
    val messageId: String? get() = null
}
