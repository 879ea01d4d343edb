import Foundation

/// The SDK's files (the SQLite database with the visitor token and the conversation, its `-wal`, `-shm` and
/// `-journal`) get the data protection class `completeUntilFirstUserAuthentication` and stay out of iCloud and
/// device backups (docs/decisions.md #12).
///
/// Why not `complete`: a push wakes the app in the background while the phone is locked, and the SDK must read its
/// token and write the message then; a `complete` file cannot even be opened until the user unlocks. The class is set
/// on the directory before the core creates anything in it (a new file takes its directory's class), and on the files
/// already there (an app updating from an SDK that did not set it), so the app's own default class — a Data Protection
/// entitlement set to `complete` — cannot make the database unreadable in the background.
enum StorageProtection {
    static func prepare(_ directory: URL) throws(ChatflowError) {
        do {
            let files = FileManager.default
            try files.createDirectory(at: directory, withIntermediateDirectories: true)
            #if os(iOS) || os(tvOS) || os(watchOS) || os(visionOS)
            let wanted = FileProtectionType.completeUntilFirstUserAuthentication
            let items = [directory] + (try files.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil))
            // Written only where it differs: most opens find every item right already and write nothing.
            for item in items {
                let current = try files.attributesOfItem(atPath: item.path)[.protectionKey]
                if ((current as? FileProtectionType)?.rawValue ?? (current as? String)) != wanted.rawValue {
                    try files.setAttributes([.protectionKey: wanted], ofItemAtPath: item.path)
                }
            }
            #endif
            #if canImport(Darwin)
            // Backups (iCloud, Finder/iTunes, Time Machine on macOS) would carry the token off the device.
            var values = URLResourceValues()
            values.isExcludedFromBackup = true
            var url = directory
            try url.setResourceValues(values)
            #endif
        } catch {
            throw .storage("cannot prepare the storage directory \(directory.path): \(error.localizedDescription)")
        }
    }
}
