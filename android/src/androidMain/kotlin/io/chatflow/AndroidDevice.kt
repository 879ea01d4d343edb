package io.chatflow

import android.content.Context
import android.os.Build
import java.util.Locale

/** Device metadata from Android APIs. Android-only source set: not compiled by the JVM test build. */
object AndroidDevice {
    fun info(context: Context): DeviceInfo {
        val appVersion = try {
            context.packageManager.getPackageInfo(context.packageName, 0).versionName.orEmpty()
        } catch (e: Exception) {
            ""
        }
        return DeviceInfo(
            platform = "android",
            osVersion = "${Build.VERSION.RELEASE} (API ${Build.VERSION.SDK_INT})",
            appVersion = appVersion,
            deviceModel = "${Build.MANUFACTURER} ${Build.MODEL}",
            locale = Locale.getDefault().toLanguageTag(),
            sdkVersion = Chatflow.sdkVersion,
        )
    }
}

/**
 * Opens a client storing its data in `noBackupFilesDir/chatflow` ([AndroidStorage]: out of cloud backup and
 * device-to-device transfer), after giving the native library the app's Context for TLS verification by Android's
 * trust manager ([AndroidPlatformTrust]). With [followAppLifecycle] the client follows the app between foreground
 * and background by itself ([ChatflowLifecycle]); pass false to call `enterBackground()` / `resume()` yourself.
 */
fun ChatflowClient.Companion.open(
    context: Context,
    config: ChatflowConfig,
    followAppLifecycle: Boolean = true,
): ChatflowClient {
    AndroidPlatformTrust.init(context)
    val client = ChatflowClient.open(config, AndroidStorage.directory(context))
    if (followAppLifecycle) ChatflowLifecycle.attach(client, context)
    return client
}

/** Reports this device (OS, model, app version, locale) for the team's inbox. */
suspend fun ChatflowClient.reportDevice(context: Context) = setDeviceInfo(AndroidDevice.info(context))

/** Forwards the SDK's logs to Logcat (tag `Chatflow`), at [level] and above. */
fun Chatflow.logToLogcat(level: LogLevel = LogLevel.INFO) = setLogger(level) { record ->
    val priority = when (record.level) {
        LogLevel.ERROR -> android.util.Log.ERROR
        LogLevel.WARN -> android.util.Log.WARN
        LogLevel.INFO -> android.util.Log.INFO
        LogLevel.DEBUG -> android.util.Log.DEBUG
        LogLevel.TRACE -> android.util.Log.VERBOSE
    }
    android.util.Log.println(priority, "Chatflow", "${record.target}: ${record.message}")
}
