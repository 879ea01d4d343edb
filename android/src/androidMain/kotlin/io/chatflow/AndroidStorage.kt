package io.chatflow

import android.content.Context
import java.io.File

/**
 * Where the SDK keeps its files on Android: `noBackupFilesDir/chatflow`. The database holds the visitor token and
 * the conversation; Android leaves `noBackupFilesDir` out of Auto Backup (Google Drive) and device-to-device
 * transfer whatever the app's backup rules say, so the token never reaches another device and a restored app starts
 * with a fresh anonymous visitor instead of another device's session (docs/decisions.md #12).
 * Android-only source set: not compiled by the JVM test build.
 */
object AndroidStorage {
    /** The SDK's directory name inside `noBackupFilesDir` (and, before, inside `filesDir`). */
    const val DIRECTORY = "chatflow"

    /**
     * The SDK's storage directory. Data an earlier version kept in `filesDir/chatflow` (which backups include) is
     * moved here once: a rename inside the app's data directory, so the session and unsent messages are kept.
     */
    fun directory(context: Context): File {
        val target = File(context.noBackupFilesDir, DIRECTORY)
        val legacy = File(context.filesDir, DIRECTORY)
        if (legacy.isDirectory && !target.exists()) {
            target.parentFile?.mkdirs()
            // If the move fails, keep the data where it is rather than start over without it.
            if (!legacy.renameTo(target)) return legacy
        }
        return target
    }
}
