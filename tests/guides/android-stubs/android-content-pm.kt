// STUB of the Android SDK's API surface: see android.kt.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content.pm

abstract class PackageManager {
    abstract fun getPackageInfo(packageName: String, flags: Int): PackageInfo
}

open class PackageInfo {
    @JvmField var versionName: String? = null
}
