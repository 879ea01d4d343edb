// The app code the iOS guide's snippets call but do not show (the app's shared client, a screen, its backend and
// render helpers), as placeholders so the snippets type-check. Snippets that are statements are compiled as the body
// of `func snippet() async throws` in an extension of `GuideScreen`, a main-actor screen of the app.
import Chatflow
import Foundation

/// The app's one client, opened at launch (the guide's section 2).
let chat: ChatflowClient = placeholder()

/// The app's chatflow.json (the guide's section 2) and its client's directory in the app group (section 5).
let chatConfigJSON: String = placeholder()
let appGroupChatDirectory: URL = placeholder()

/// Your backend: it signs identity tokens for the chat.
let backend: Backend = placeholder()

protocol Backend: Sendable {
    func chatToken(for userId: String) async throws -> String
}

struct User: Sendable {
    let id: String
    let email: String?
}

@MainActor final class GuideScreen {
    let json: String = placeholder()
    let supportDir: URL = placeholder()
    let text: String = placeholder()
    let pickedFile: URL = placeholder()
    let conversationId: String = placeholder()
    let message: ChatMessage = placeholder()
    let user: User = placeholder()
    let tokenFromYourBackend: String = placeholder()
}

func placeholder<T>() -> T { fatalError("placeholder of app code") }

@MainActor func hideLauncher() {}
@MainActor func render(_ messages: [ChatMessage]) {}
@MainActor func render(_ event: ChatEvent) {}
@MainActor func upsert(_ messages: [ChatMessage]) {}
@MainActor func badge(_ total: Int32) {}
@MainActor func header(_ title: String, typing: Bool, available: Bool?) {}
@MainActor func bubbles(_ items: [MessageItem]) {}
@MainActor func banner(_ state: ConnectionState) {}
@MainActor func askConsent(_ text: String) async -> Bool { true }
@MainActor func showConsent(_ chatflowId: Int64) {}
@MainActor func show(_ message: String) {}
@MainActor func showFile(_ name: String, _ file: URL) {}
@MainActor func openChat(_ conversationId: String) {}
