// STUB of the Android SDK's API surface (android.jar), for the guide-snippet check only: declarations with the
// signatures the guides and src/androidMain use, bodies that throw. Never shipped, never run. Not our code.
@file:Suppress("unused")

package android.provider

object OpenableColumns {
    const val DISPLAY_NAME: String = "_display_name"
}
