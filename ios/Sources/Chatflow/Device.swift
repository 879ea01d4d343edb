import ChatflowBindings
import Foundation

extension DeviceInfo {
    /// This device: iOS/macOS version and model from platform APIs; on Linux (tests) the kernel and architecture.
    public static func current(appVersion: String? = nil) -> DeviceInfo {
        let version = appVersion
            ?? (Bundle.main.object(forInfoDictionaryKey: "CFBundleShortVersionString") as? String) ?? ""
        let os = ProcessInfo.processInfo.operatingSystemVersion
        let osVersion = "\(os.majorVersion).\(os.minorVersion).\(os.patchVersion)"
        #if os(iOS)
        let platform = "ios"
        #elseif os(macOS)
        let platform = "macos"
        #else
        let platform = "linux"
        #endif
        return DeviceInfo(
            platform: platform,
            osVersion: osVersion,
            appVersion: version,
            deviceModel: machineModel(),
            locale: Locale.current.identifier.replacingOccurrences(of: "_", with: "-"),
            sdkVersion: Chatflow.sdkVersion
        )
    }
}

/// `iPhone15,2`, `arm64`, `x86_64`: the hardware identifier from uname.
private func machineModel() -> String {
    var info = utsname()
    uname(&info)
    return withUnsafeBytes(of: &info.machine) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
}
