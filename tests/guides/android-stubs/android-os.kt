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
