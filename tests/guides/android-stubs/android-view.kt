// STUB of the Android SDK's API surface: see android.kt.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.view

open class View {
    fun interface OnClickListener {
        fun onClick(v: View)
    }

    fun setOnClickListener(l: OnClickListener?) {}
}
