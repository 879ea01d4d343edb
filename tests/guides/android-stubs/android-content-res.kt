// STUB of the Android SDK's API surface: see android.kt.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content.res

import java.io.InputStream

class AssetManager private constructor() {
    fun open(fileName: String): InputStream = throw UnsupportedOperationException("stub")
}
