package io.chatflow

import java.util.Locale

/** Device metadata from plain JVM properties (desktop tools and tests). On Android use `AndroidDevice.info`. */
object JvmDevice {
    fun info(appVersion: String = ""): DeviceInfo = DeviceInfo(
        platform = "jvm",
        osVersion = "${System.getProperty("os.name")} ${System.getProperty("os.version")}",
        appVersion = appVersion,
        deviceModel = "${System.getProperty("java.vm.name")} ${System.getProperty("java.version")} (${System.getProperty("os.arch")})",
        locale = Locale.getDefault().toLanguageTag(),
        sdkVersion = Chatflow.sdkVersion,
    )
}
