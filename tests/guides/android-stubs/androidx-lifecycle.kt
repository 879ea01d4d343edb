// STUB of AndroidX Lifecycle's API surface (lifecycle-runtime-ktx, lifecycle-process), for the guide-snippet check
// only: see android.kt. Not our code.
@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.lifecycle

import kotlinx.coroutines.CoroutineScope

abstract class Lifecycle {
    abstract fun addObserver(observer: LifecycleObserver)
    abstract val currentState: State

    enum class State {
        DESTROYED, INITIALIZED, CREATED, STARTED, RESUMED;

        fun isAtLeast(state: State): Boolean = compareTo(state) >= 0
    }
}

interface LifecycleObserver

interface LifecycleOwner {
    val lifecycle: Lifecycle
}

interface DefaultLifecycleObserver : LifecycleObserver {
    fun onStart(owner: LifecycleOwner) {}
    fun onStop(owner: LifecycleOwner) {}
}

class ProcessLifecycleOwner private constructor() : LifecycleOwner {
    override val lifecycle: Lifecycle get() = throw UnsupportedOperationException("stub")

    companion object {
        @JvmStatic
        fun get(): LifecycleOwner = throw UnsupportedOperationException("stub")
    }
}

abstract class LifecycleCoroutineScope : CoroutineScope

val LifecycleOwner.lifecycleScope: LifecycleCoroutineScope get() = throw UnsupportedOperationException("stub")
