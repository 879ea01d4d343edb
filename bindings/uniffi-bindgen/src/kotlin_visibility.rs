//! Narrows the generated Kotlin to what an app uses: the records, enums and sealed classes (events, outcomes,
//! errors of the records) stay public; the plumbing — the native client object, converters, callback interfaces,
//! buffers, cleaners, helper functions — becomes `internal`, visible to the facade compiled in the same module
//! (`io.chatflow.ChatflowClient` and friends) and to nothing an app can import.
//!
//! UniFFI has no setting for this, and the generated code must share the facade's package (sealed subclasses such as
//! `ResolveOutcome.Found` cannot be re-exported through a typealias), so the generator's output is rewritten here.

/// Top-level declarations an app sees: the value types it receives and matches on.
const PUBLIC_KINDS: [&str; 3] = ["data class ", "enum class ", "sealed class "];

/// The value types that still stay internal: the FFI's error type, which the facade turns into `ChatflowException`.
const INTERNAL_VALUE_TYPES: [&str; 1] = ["NativeException"];

/// Keywords that start a top-level declaration (after an optional `public`).
const DECLARATION_STARTS: [&str; 10] =
    ["class ", "object ", "interface ", "fun ", "fun<", "val ", "var ", "open ", "abstract ", "inline "];

/// The file with every top-level plumbing declaration made `internal`. Fails when the braces do not balance (then
/// the file is not what this reader understands, and leaving it half-narrowed would be worse than stopping).
pub fn narrow(source: &str) -> Result<String, String> {
    let mut out = String::with_capacity(source.len() + 4096);
    let mut depth = Depth::default();
    for (number, line) in source.split_inclusive('\n').enumerate() {
        if depth.at_top_level() {
            out.push_str(&narrow_line(line));
        } else {
            out.push_str(line);
        }
        depth.read(line).map_err(|e| format!("line {}: {e}", number + 1))?;
    }
    if !depth.at_top_level() {
        return Err("a brace, parenthesis or comment is still open at the end of the file".into());
    }
    Ok(out)
}

/// How deep in braces and parentheses (a record's constructor) the reader is, outside strings and comments (the generated code has no raw strings and no
/// quotes inside string templates, which keeps this small).
#[derive(Default)]
struct Depth {
    braces: usize,
    parens: usize,
    in_comment: bool,
}

impl Depth {
    fn at_top_level(&self) -> bool {
        self.braces == 0 && self.parens == 0 && !self.in_comment
    }

    fn read(&mut self, line: &str) -> Result<(), String> {
        let mut chars = line.chars().peekable();
        let mut in_string = false;
        while let Some(c) = chars.next() {
            if self.in_comment {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    self.in_comment = false;
                }
            } else if in_string {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => in_string = false,
                    _ => {}
                }
            } else {
                match c {
                    '/' if chars.peek() == Some(&'/') => return Ok(()),
                    '/' if chars.peek() == Some(&'*') => {
                        chars.next();
                        self.in_comment = true;
                    }
                    '"' => in_string = true,
                    '{' => self.braces += 1,
                    '}' => self.braces = self.braces.checked_sub(1).ok_or("a `}` closes nothing")?,
                    '(' => self.parens += 1,
                    ')' => self.parens = self.parens.checked_sub(1).ok_or("a `)` closes nothing")?,
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

fn narrow_line(line: &str) -> std::borrow::Cow<'_, str> {
    // Top-level functions come indented and may carry an annotation: `    @Throws(X::class) fun name(`.
    let indent = line.len() - line.trim_start().len();
    let (annotation, rest) = split_annotation(&line[indent..]);
    let declaration = rest.strip_prefix("public ").unwrap_or(rest);
    let declares = DECLARATION_STARTS.iter().any(|start| declaration.starts_with(start))
        || PUBLIC_KINDS.iter().any(|kind| declaration.starts_with(kind));
    if !declares || is_app_facing(declaration) {
        return line.into();
    }
    format!("{}{annotation}internal {declaration}", &line[..indent]).into()
}

/// `("@Throws(X::class) ", "fun …")` for an annotated declaration, `("", line)` otherwise.
fn split_annotation(line: &str) -> (&str, &str) {
    if !line.starts_with('@') {
        return ("", line);
    }
    match line.find(") ") {
        Some(end) if !line[..end].contains(' ') || line[..end].contains('(') => line.split_at(end + 2),
        _ => ("", line),
    }
}

fn is_app_facing(declaration: &str) -> bool {
    PUBLIC_KINDS.iter().any(|kind| {
        declaration
            .strip_prefix(kind)
            .is_some_and(|rest| !INTERNAL_VALUE_TYPES.iter().any(|name| declared_name(rest) == *name))
    })
}

/// `Name` of `Name(`, `Name:`, `Name {`, `Name<T>`.
fn declared_name(rest: &str) -> &str {
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::narrow;

    #[test]
    fn plumbing_becomes_internal_and_values_stay_public() {
        let generated = "\
package io.chatflow

@Structure.FieldOrder(\"capacity\", \"len\", \"data\")
open class RustBuffer : Structure() {
    open fun free() {}
}
public object FfiConverterTypeChatMessage: FfiConverterRustBuffer<ChatMessage> {
}
object NoHandle
interface Disposable {
    fun destroy()
}
public interface ConversationStateListener {
    fun onUpdate(update: ConversationUpdate)
}
open class NativeChatClient: Disposable, AutoCloseable, NativeChatClientInterface
public fun uniffiEnsureInitialized() {
}
inline fun <T : Disposable?, R> T.use(block: (T) -> R) = block(this)
public abstract class FfiConverterCallbackInterface<CallbackInterface: Any>: FfiConverter<CallbackInterface, Long> {
}
internal const val IDX_CALLBACK_FREE = 0
private fun uniffiCheckApiChecksums(lib: IntegrityCheckingUniffiLib) {}
/* a comment { with a brace
*/
    @Throws(NativeException::class) fun `setLogger`(`logger`: Logger, `level`: LogLevel)
        = uniffiRustCall { status -> lower(\"}\") }
data class ChatMessage (
    val body: String,
    val seq: ULong?,
) {
    companion object
}
enum class AuthorKind { VISITOR }
sealed class ChatEvent {
    data class Connected(val at: Long) : ChatEvent()
}
sealed class NativeException: kotlin.Exception() {
}
";
        let narrowed = narrow(generated).unwrap();
        for internal in [
            "internal open class RustBuffer : Structure() {",
            "internal object FfiConverterTypeChatMessage:",
            "internal object NoHandle",
            "internal interface Disposable {",
            "internal interface ConversationStateListener {",
            "internal open class NativeChatClient:",
            "internal fun uniffiEnsureInitialized() {",
            "internal inline fun <T : Disposable?, R> T.use",
            "internal abstract class FfiConverterCallbackInterface",
            "internal sealed class NativeException:",
            "    @Throws(NativeException::class) internal fun `setLogger`(",
        ] {
            assert!(narrowed.contains(internal), "expected `{internal}` in:\n{narrowed}");
        }
        for unchanged in [
            "internal const val IDX_CALLBACK_FREE = 0\n",
            "private fun uniffiCheckApiChecksums",
            "\ndata class ChatMessage (",
            "\n    val body: String,\n    val seq: ULong?,\n",
            "\nenum class AuthorKind",
            "\nsealed class ChatEvent {",
            "    data class Connected(val at: Long) : ChatEvent()",
            "    fun onUpdate(update: ConversationUpdate)",
            "    open fun free() {}",
            "@Structure.FieldOrder(\"capacity\", \"len\", \"data\")\n",
        ] {
            assert!(narrowed.contains(unchanged), "expected `{unchanged}` unchanged in:\n{narrowed}");
        }
        assert!(!narrowed.contains("internal internal"));
    }

    #[test]
    fn unbalanced_braces_are_refused() {
        assert!(narrow("class A {\n").unwrap_err().contains("still open"));
        assert!(narrow("data class A (\n").unwrap_err().contains("still open"));
        assert!(narrow("}\n").unwrap_err().contains("line 1"));
        assert!(narrow("val s = \"{\"\n").is_ok());
    }
}
