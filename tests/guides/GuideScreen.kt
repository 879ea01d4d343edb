// The app code the Android guide's snippets call but do not show (a screen, its views, the app's own backend and
// helpers), as placeholders so the snippets type-check. Snippets that are statements are compiled as the body of a
// `suspend fun GuideScreen.snippet()`: inside an Activity of the app, the way the guide presents them.
@file:Suppress("unused", "UNUSED_PARAMETER")

package guides

import android.app.Activity
import android.widget.Button
import android.widget.EditText
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleOwner
import io.chatflow.ChatEvent
import io.chatflow.ChatMessage
import io.chatflow.ChatflowClient
import io.chatflow.ConnectionState
import com.google.firebase.messaging.RemoteMessage
import kotlinx.coroutines.CoroutineScope

abstract class GuideScreen : Activity(), LifecycleOwner {
    override val lifecycle: Lifecycle get() = TODO()
    val chat: ChatflowClient get() = TODO()
    val conversationId: String get() = TODO()
    val input: EditText get() = TODO()
    val sendButton: Button get() = TODO()
    val user: User get() = TODO()
    val identityTokenFromYourBackend: String get() = TODO()
    val yourBackend: Backend get() = TODO()
}

class User(val id: String, val email: String?)

interface Backend {
    suspend fun chatToken(userId: String): String
}

/** The app's own CoroutineScope that outlives screens (e.g. `CoroutineScope(SupervisorJob() + Dispatchers.Default)`). */
val appScope: CoroutineScope get() = TODO()

fun showChatNotification(conversationId: String, chatflowId: Long?) {}
fun handleOwnPush(message: RemoteMessage) {}
fun hideLauncher() {}
fun render(messages: List<ChatMessage>) {}
fun render(event: ChatEvent) {}
fun upsert(messages: List<ChatMessage>) {}
fun badge(total: ULong) {}
fun banner(state: ConnectionState) {}
fun toast(text: String?) {}
fun showConsent(text: String, onAnswer: (agreed: Boolean) -> Unit) {}
fun showConsent(chatflowId: Long) {}
