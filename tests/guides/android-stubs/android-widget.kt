// STUB of the Android SDK's API surface: see android.kt.
@file:Suppress("unused")

package android.widget

open class TextView : android.view.View() {
    open val text: CharSequence get() = ""
}

open class EditText : TextView()

open class Button : TextView()
