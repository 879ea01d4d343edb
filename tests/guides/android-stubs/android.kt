// STUB of the Android SDK's API surface (android.jar), for the guide-snippet check only: declarations with the
// signatures the guides and src/androidMain use, bodies that throw. Never shipped, never run. Not our code.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content

import java.io.File

abstract class Context {
    abstract val packageName: String
    abstract val packageManager: android.content.pm.PackageManager
    abstract val filesDir: File
    abstract val noBackupFilesDir: File
    abstract val cacheDir: File
    abstract val contentResolver: ContentResolver
    abstract val assets: android.content.res.AssetManager
    abstract val applicationContext: Context
}

open class ContextWrapper : Context() {
    override val packageName: String get() = throw UnsupportedOperationException("stub")
    override val packageManager: android.content.pm.PackageManager get() = throw UnsupportedOperationException("stub")
    override val filesDir: File get() = throw UnsupportedOperationException("stub")
    override val noBackupFilesDir: File get() = throw UnsupportedOperationException("stub")
    override val cacheDir: File get() = throw UnsupportedOperationException("stub")
    override val contentResolver: ContentResolver get() = throw UnsupportedOperationException("stub")
    override val assets: android.content.res.AssetManager get() = throw UnsupportedOperationException("stub")
    override val applicationContext: Context get() = throw UnsupportedOperationException("stub")
}

open class Intent(packageContext: Context, cls: Class<*>) {
    fun putExtra(name: String, value: String?): Intent = throw UnsupportedOperationException("stub")
}

abstract class ContentResolver {
    fun openInputStream(uri: android.net.Uri): java.io.InputStream? = throw UnsupportedOperationException("stub")
    fun query(
        uri: android.net.Uri,
        projection: Array<String>?,
        selection: String?,
        selectionArgs: Array<String>?,
        sortOrder: String?,
    ): android.database.Cursor? = throw UnsupportedOperationException("stub")
}
