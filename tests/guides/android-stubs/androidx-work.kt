// STUB of AndroidX WorkManager's API surface (work-runtime-ktx), for the guide-snippet check only: see android.kt.
// Not our code.
@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.work

import android.content.Context

class WorkerParameters private constructor()

abstract class ListenableWorker(context: Context, params: WorkerParameters) {
    abstract class Result {
        companion object {
            @JvmStatic
            fun success(): Result = throw UnsupportedOperationException("stub")

            @JvmStatic
            fun retry(): Result = throw UnsupportedOperationException("stub")

            @JvmStatic
            fun failure(): Result = throw UnsupportedOperationException("stub")
        }
    }
}

abstract class CoroutineWorker(context: Context, params: WorkerParameters) : ListenableWorker(context, params) {
    abstract suspend fun doWork(): Result
}

enum class NetworkType { NOT_REQUIRED, CONNECTED, UNMETERED }

class Constraints private constructor() {
    class Builder {
        fun setRequiredNetworkType(networkType: NetworkType): Builder = this
        fun build(): Constraints = throw UnsupportedOperationException("stub")
    }
}

abstract class WorkRequest

class OneTimeWorkRequest private constructor() : WorkRequest() {
    class Builder(workerClass: Class<out ListenableWorker>) {
        fun setConstraints(constraints: Constraints): Builder = this
        fun build(): OneTimeWorkRequest = throw UnsupportedOperationException("stub")
    }
}

inline fun <reified W : ListenableWorker> OneTimeWorkRequestBuilder(): OneTimeWorkRequest.Builder =
    OneTimeWorkRequest.Builder(W::class.java)

enum class ExistingWorkPolicy { REPLACE, KEEP, APPEND, APPEND_OR_REPLACE }

abstract class Operation

abstract class WorkManager {
    abstract fun enqueueUniqueWork(name: String, policy: ExistingWorkPolicy, work: OneTimeWorkRequest): Operation

    companion object {
        @JvmStatic
        fun getInstance(context: Context): WorkManager = throw UnsupportedOperationException("stub")
    }
}
