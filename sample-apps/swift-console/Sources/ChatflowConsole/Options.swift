import Chatflow
import Foundation

/// The command line. Each option has an environment fallback so a script can set it once.
struct Options {
    var configPath = "chatflow.json"
    var dataDir: String?
    var tag: String?
    var languages: [String] = []
    var verbose = false

    static let usage = """
        usage: chatflow-console [--config FILE] [--data-dir DIR] [--tag TAG] [--lang L] [--verbose]

          --config FILE    SDK config (server_url, app_id, environment, default_tag, language)
                           env CHATFLOW_CONFIG, default ./chatflow.json
          --data-dir DIR   where the SDK keeps the visitor's session, messages and send queue
                           env CHATFLOW_DATA_DIR, default <user data dir>/chatflow-console/<app_id>@<server>
          --tag TAG        the chatflow's mobile tag (default: the config's default_tag)
          --lang L         preferred language(s), repeatable or comma-separated (default: the config's)
          --verbose        the SDK's logs on stderr

        In the chat: type a message and press enter; /help lists the commands.
        """

    /// Parses `arguments` (without the program name). `--help` is reported as `ConsoleError.help`.
    static func parse(_ arguments: [String], environment: [String: String]) throws(ConsoleError) -> Options {
        var options = Options()
        if let path = environment["CHATFLOW_CONFIG"], !path.isEmpty { options.configPath = path }
        if let dir = environment["CHATFLOW_DATA_DIR"], !dir.isEmpty { options.dataDir = dir }

        var rest = arguments[...]
        while let argument = rest.popFirst() {
            // Both `--tag support` and `--tag=support`.
            let (name, inline) = argument.split(separator: "=", maxSplits: 1).map(String.init).pair
            func value() throws(ConsoleError) -> String {
                if let inline { return inline }
                guard let next = rest.popFirst(), !next.hasPrefix("--") else {
                    throw ConsoleError(.usage, "\(name) needs a value\n\n\(usage)")
                }
                return next
            }
            switch name {
            case "--config", "-c": options.configPath = try value()
            case "--data-dir": options.dataDir = try value()
            case "--tag": options.tag = try value()
            case "--lang":
                options.languages += try value().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            case "--verbose", "-v": options.verbose = true
            case "--help", "-h": throw ConsoleError.help
            default: throw ConsoleError(.usage, "unknown argument `\(argument)`\n\n\(usage)")
            }
        }
        return options
    }

    /// The SDK config, parsed and validated by the SDK itself (its errors name the field and the value).
    func loadConfig() throws(ConsoleError) -> ChatflowConfig {
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw ConsoleError(.config, "config file \(configPath): no such file; pass --config FILE or set CHATFLOW_CONFIG")
        }
        let text: String
        do {
            text = try String(contentsOfFile: configPath, encoding: .utf8)
        } catch {
            throw ConsoleError(.config, "config file \(configPath): cannot be read (\(error.localizedDescription))")
        }
        do {
            return try ChatflowConfig.fromJSON(text)
        } catch {
            throw ConsoleError(.config, "config file \(configPath): \(error.detail)")
        }
    }

    /// The data directory, created if needed. One folder per app and server by default: a visitor token of one
    /// server means nothing to another.
    func storageDirectory(for config: ChatflowConfig, environment: [String: String]) throws(ConsoleError) -> URL {
        let dir: URL
        if let dataDir {
            dir = URL(fileURLWithPath: dataDir)
        } else {
            let server = URL(string: config.serverUrl).map { url in
                [url.host, url.port.map(String.init)].compactMap { $0 }.joined(separator: "_")
            } ?? "server"
            dir = Self.userDataDirectory(environment)
                .appendingPathComponent("chatflow-console")
                .appendingPathComponent("\(config.appId)@\(server)")
        }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw ConsoleError(.config, "data directory \(dir.path): cannot be created (\(error.localizedDescription))")
        }
        return dir
    }

    /// In an iOS app this is Application Support (app-private: it holds the visitor token).
    private static func userDataDirectory(_ environment: [String: String]) -> URL {
        #if os(Linux)
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return URL(fileURLWithPath: xdg) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share")
        #else
        return FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        #endif
    }
}

extension Array where Element == String {
    /// `["a", "b"]` → `("a", "b")`, `["a"]` → `("a", nil)`.
    fileprivate var pair: (String, String?) { (self.first ?? "", self.count > 1 ? self[1] : nil) }
}
