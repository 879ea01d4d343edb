package io.chatflow

import android.content.Context
import android.os.Handler
import android.os.Looper
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.lang.ref.WeakReference
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * Follows the app process between foreground and background (`ProcessLifecycleOwner`) and tells the client, which
 * decides what to do (`ChatflowClient.enterBackground`: send what is queued, keep the connection for a grace
 * period, then close). Messages still queued when the background time ends are left to [ChatflowFlushWorker], which
 * WorkManager runs once the network is there. Only a return from the background resumes: attaching does not start
 * the connection. Android-only source set: not compiled by the JVM test build.
 */
class ChatflowLifecycle private constructor(client: ChatflowClient, context: Context) : DefaultLifecycleObserver {
    private val client = WeakReference(client)
    private val appContext = context.applicationContext
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Main.immediate)
    private var background: Job? = null

    override fun onStop(owner: LifecycleOwner) {
        val chat = client.get() ?: return
        background?.cancel()
        background = scope.launch {
            val outcome = try {
                chat.enterBackground()
            } catch (e: ChatflowException) {
                return@launch // closed meanwhile
            }
            if (outcome.stillQueued > 0 && !outcome.interrupted) ChatflowFlushWorker.schedule(appContext)
        }
    }

    override fun onStart(owner: LifecycleOwner) {
        val job = background ?: return // the first start, when attaching: the app decides when to connect
        job.cancel()
        background = null
        try {
            client.get()?.resume()
        } catch (e: ChatflowException) {
            // Closed meanwhile: nothing to resume.
        }
    }

    companion object {
        /** The client a [ChatflowFlushWorker] flushes (the last one attached in this process). */
        @Volatile
        internal var current: WeakReference<ChatflowClient> = WeakReference(null)

        /** Attaches [client] to the process lifecycle (on the main thread; callable from any thread). */
        fun attach(client: ChatflowClient, context: Context) {
            val observer = ChatflowLifecycle(client, context)
            current = WeakReference(client)
            Handler(Looper.getMainLooper()).post { ProcessLifecycleOwner.get().lifecycle.addObserver(observer) }
        }
    }
}

/**
 * Sends what the last background period could not, once the network is there: another background period of the
 * client open in this process. When the process was restarted no client is open and the messages go at the next
 * app start (the SDK cannot open one without the app's configuration).
 */
class ChatflowFlushWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val chat = ChatflowLifecycle.current.get() ?: return Result.success()
        // Back in the foreground: the connection is up and sends on its own; a background period would close it.
        val visible = withContext(Dispatchers.Main) {
            ProcessLifecycleOwner.get().lifecycle.currentState.isAtLeast(Lifecycle.State.STARTED)
        }
        if (visible) return Result.success()
        return try {
            val outcome = chat.enterBackground()
            if (outcome.stillQueued > 0 && !outcome.interrupted) Result.retry() else Result.success()
        } catch (e: ChatflowException) {
            Result.success()
        }
    }

    companion object {
        private const val NAME = "chatflow-flush"

        fun schedule(context: Context) {
            val request = OneTimeWorkRequestBuilder<ChatflowFlushWorker>()
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NAME, ExistingWorkPolicy.KEEP, request)
        }
    }
}
