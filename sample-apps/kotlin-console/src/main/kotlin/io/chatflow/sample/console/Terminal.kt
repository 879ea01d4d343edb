package io.chatflow.sample.console

import java.io.FileDescriptor
import java.io.FileOutputStream
import java.io.PrintStream
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter

/**
 * The "UI" of this sample: lines on stdout. On a terminal it shows a prompt and colours, and clears the prompt
 * before a line that arrives while the visitor is typing; through a pipe it prints plain lines only.
 */
class Terminal(val interactive: Boolean, private val colors: Boolean) {
    // UTF-8 whatever the locale: message bodies and welcome texts are not ASCII (é, “”, ✓).
    private val out = PrintStream(FileOutputStream(FileDescriptor.out), true, Charsets.UTF_8)
    private val err = PrintStream(FileOutputStream(FileDescriptor.err), true, Charsets.UTF_8)
    private var promptShown = false

    fun say(text: String) {
        if (promptShown) out.print("\r\u001b[2K")
        out.println(text)
        promptShown = false
    }

    fun prompt(text: String) {
        if (!interactive || promptShown) return
        out.print(bold(text))
        out.flush()
        promptShown = true
    }

    /** The visitor pressed enter: the prompt line is theirs now. */
    fun lineEntered() {
        promptShown = false
    }

    fun warn(text: String) = err.println("warning: $text")
    fun error(text: String) = err.println("error: $text")
    fun log(text: String) = err.println(text)

    fun bold(s: String) = style("1", s)
    fun dim(s: String) = style("2", s)
    fun red(s: String) = style("31", s)
    fun green(s: String) = style("32", s)
    fun yellow(s: String) = style("33", s)
    fun magenta(s: String) = style("35", s)
    fun cyan(s: String) = style("36", s)
    private fun style(code: String, s: String) = if (colors) "\u001b[${code}m$s\u001b[0m" else s

    companion object {
        /** `System.console()` exists only when stdin and stdout are both a terminal (JDK 17). */
        fun system(): Terminal {
            val tty = System.console() != null
            return Terminal(interactive = tty, colors = tty && System.getenv("NO_COLOR").isNullOrEmpty())
        }
    }
}

private val hhmm = DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneId.systemDefault())
private val dateTime = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm").withZone(ZoneId.systemDefault())

/** Local time of a Unix-ms timestamp, `14:02`. */
fun clock(unixMs: Long): String = hhmm.format(Instant.ofEpochMilli(unixMs))

fun dateAndClock(unixMs: Long): String = dateTime.format(Instant.ofEpochMilli(unixMs))
