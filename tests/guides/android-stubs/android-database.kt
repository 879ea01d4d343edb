// STUB of the Android SDK's API surface (android.jar), for the guide-snippet check only: declarations with the
// signatures the guides and src/androidMain use, bodies that throw. Never shipped, never run. Not our code.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.database

interface Cursor : java.io.Closeable {
    fun moveToFirst(): Boolean
    fun getColumnIndex(columnName: String): Int
    fun getString(columnIndex: Int): String?
}
