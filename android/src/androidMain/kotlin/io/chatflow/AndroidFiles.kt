package io.chatflow

import android.content.Context
import android.net.Uri
import android.provider.OpenableColumns
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.io.File

/**
 * Sends the file behind [uri] (the photo picker's or the document picker's result) in a message, under the name the
 * content provider gives it. The bytes decide its type (a provider's guess is not a claim the app makes); the rest is
 * [ChatflowClient.sendFile]: copied before this returns, checked against the limits, queued in order with the text.
 * The provider's stream goes through a temporary file in `cacheDir` (deleted before this returns), so a large video
 * never sits in memory. Android-only source set: not compiled by the JVM test build.
 */
suspend fun ChatflowClient.sendFile(context: Context, conversationId: String, uri: Uri, caption: String? = null): ChatMessage =
    withContext(Dispatchers.IO) {
        val resolver = context.contentResolver
        val name = resolver.query(uri, arrayOf(OpenableColumns.DISPLAY_NAME), null, null, null)?.use { cursor ->
            val column = cursor.getColumnIndex(OpenableColumns.DISPLAY_NAME)
            if (column >= 0 && cursor.moveToFirst()) cursor.getString(column) else null
        } ?: uri.lastPathSegment ?: "file"
        val input = resolver.openInputStream(uri)
            ?: throw ChatflowException.InvalidInput("the content provider gave no stream for $uri")
        val temp = File.createTempFile("chatflow-", ".pick", context.cacheDir)
        try {
            input.use { from -> temp.outputStream().use { to -> from.copyTo(to) } }
            sendFile(conversationId, temp, fileName = name, caption = caption)
        } finally {
            temp.delete()
        }
    }
