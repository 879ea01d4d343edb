// STUB of the Android SDK's API surface (android.jar), for the guide-snippet check only: declarations with the
// signatures the guides and src/androidMain use, bodies that throw. Never shipped, never run. Not our code.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.net

abstract class Uri {
    abstract val lastPathSegment: String?
}
