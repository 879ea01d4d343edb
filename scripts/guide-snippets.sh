#!/usr/bin/env bash
# Compiles the code blocks of the integration guides against the facades, so the guides cannot drift from the code.
#
#   scripts/guide-snippets.sh kotlin   ```kotlin blocks of docs/integration-android.md + README.md's "## Integrate"
#   scripts/guide-snippets.sh swift    ```swift blocks of docs/integration-ios.md + README.md's "## Integrate"
#   scripts/guide-snippets.sh extract LANG DOC...   only extract (lists each block: file, fragment or ignored)
#
# Run by scripts/test.sh after `scripts/bindings.sh kotlin|swift` (it reuses their builds: the facade jar,
# the root package's .build). The rules, kept simple on purpose:
#
# 1. Every ```kotlin / ```swift block is compiled, each as its own file build/guides/LANG/<guide>_<line>.{kt,swift}
#    (compiler errors name that file; <line> is where the block starts in the guide). Every file gets the imports
#    an app would write: Kotlin io.chatflow.*, kotlinx.coroutines.*, kotlinx.coroutines.flow.*, android.app.*,
#    android.content.*, androidx.lifecycle.*, com.google.firebase.messaging.* (package `guides`); Swift Foundation
#    and Chatflow. A block's own `import` lines are kept (moved to the top of the file).
# 2. A block whose first code line (past comments and imports) starts a declaration (Kotlin: class, object,
#    interface, fun, @...; Swift: class, struct, enum, extension, func, protocol, actor, @...) is compiled as is.
#    Any other block is a fragment: it becomes the body of a function of the app's screen,
#    `suspend fun GuideScreen.<name>()` (Kotlin, an Activity) or `extension GuideScreen { func <name>() async throws }`
#    (Swift, a main-actor class).
# 3. What the snippets call but the guides do not show (the app's views, backend, render helpers) is declared once in
#    tests/guides/GuideScreen.{kt,swift}. Platform APIs that do not exist on this machine (Android, AndroidX,
#    Firebase; UIKit, UserNotifications) come from tests/guides/{android,apple}-stubs: their API surface only, with
#    the platforms' signatures. The SDK itself is never stubbed: Kotlin compiles against the facade jar plus
#    src/androidMain (compiled here against the Android stubs), Swift against the Chatflow module SwiftPM built; the
#    facade's UIKit-only file (ios/Sources/Chatflow/AppLifecycle.swift) is type-checked with the snippets.
# 4. A block opts out with `ignore` after the language (```swift ignore) when it cannot compile here (a build
#    script, an Apple-only API of the facade). Its first line must be a comment that says why, so readers see it.
# 5. A guide without any block of the language fails the check (a renamed README section, a mistyped fence).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/guides

say() { printf '[guides] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# extract LANG OUTDIR FILE...: writes one source file per block into OUTDIR and prints "file:line" per block.
# README.md contributes only its "## Integrate" section.
extract() {
  local lang=$1 dir=$2; shift 2
  rm -rf "$dir"; mkdir -p "$dir"
  local doc
  for doc in "$@"; do
    awk -v lang="$lang" -v dir="$dir" -v doc="$doc" -v readme="$([[ $doc == README.md ]] && echo 1 || echo 0)" '
      function flush(   i, first, decl, name, path, body, imports) {
        name = doc; gsub(/[^A-Za-z0-9]/, "_", name); name = name "_" start
        if (ignore) {
          if (n == 0 || lines[1] !~ /^[ \t]*\/\//) { printf "%s:%d: an ignored block must start with a comment saying why\n", doc, start > "/dev/stderr"; bad = 1 }
          printf "%s:%d ignored: %s\n", doc, start, lines[1]
          return
        }
        for (i = 1; i <= n; i++) if (lines[i] !~ /^[ \t]*(\/\/.*)?$/ && lines[i] !~ /^import /) { first = lines[i]; break }
        if (lang == "kotlin") decl = (first ~ /^(@|class |object |interface |fun |abstract |open |data |sealed |enum |private |internal )/)
        else decl = (first ~ /^(@|class |final class |struct |enum |extension |func |protocol |actor |public |private )/)
        path = dir "/" name (lang == "kotlin" ? ".kt" : ".swift")
        imports = ""; body = ""
        for (i = 1; i <= n; i++) {
          if (lines[i] ~ /^import /) imports = imports lines[i] "\n"
          else body = body lines[i] "\n"
        }
        printf "// %s:%d (extracted by scripts/guide-snippets.sh)\n", doc, start > path
        if (lang == "kotlin") {
          printf "@file:Suppress(\"UNUSED_VARIABLE\", \"UNREACHABLE_CODE\", \"unused\")\npackage guides\n" > path
          printf "import io.chatflow.*\nimport kotlinx.coroutines.*\nimport kotlinx.coroutines.flow.*\n" > path
          printf "import android.app.*\nimport android.content.*\nimport androidx.lifecycle.*\n" > path
          printf "import com.google.firebase.messaging.*\n" > path
        } else {
          printf "import Foundation\nimport Chatflow\n" > path
        }
        printf "%s", imports > path
        if (decl) printf "%s", body > path
        else if (lang == "kotlin") printf "suspend fun GuideScreen.%s() {\n%s}\n", name, body > path
        else printf "extension GuideScreen {\n    func %s() async throws {\n%s    }\n}\n", name, body > path
        close(path)
        printf "%s:%d %s\n", doc, start, (decl ? "file" : "fragment")
      }
      readme && /^## / { inside = ($0 == "## Integrate") }
      readme && !inside { next }
      !open && $0 ~ "^```" lang "([ \t].*)?$" {
        open = 1; blocks++; start = NR; n = 0; ignore = ($0 ~ /[ \t]ignore([ \t]|$)/); next
      }
      open && /^```[ \t]*$/ { open = 0; flush(); next }
      open { lines[++n] = $0 }
      END {
        if (open) { printf "%s:%d: unclosed block\n", doc, start > "/dev/stderr"; exit 1 }
        if (!blocks) { printf "%s: no ```%s block found\n", doc, lang > "/dev/stderr"; exit 1 }
        if (bad) exit 1
      }
    ' "$doc"
  done
}

cmd_kotlin() {
  eval "$(scripts/toolchains.sh env)"
  # The facade jar scripts/bindings.sh kotlin built, or the Android pipeline's classes.jar (CHATFLOW_KOTLIN_CLASSES).
  local jar=${CHATFLOW_KOTLIN_CLASSES:-$ROOT/build/kotlin/chatflow.jar}
  [ -f "$jar" ] || die "no $jar: run scripts/bindings.sh kotlin (or android/build.sh host) first"
  local src=$OUT/kotlin
  extract kotlin "$src" docs/integration-android.md README.md
  say "kotlinc: $(find "$src" -name '*.kt' | wc -l) blocks + src/androidMain against the facade jar and the Android stubs"
  "$KOTLIN_HOME/bin/kotlinc" -jvm-target 17 -nowarn \
    -cp "$jar:$JNA_JAR:$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar" \
    tests/guides/android-stubs android/src/androidMain/kotlin tests/guides/GuideScreen.kt "$src" \
    -d "$OUT/kotlin-classes"
  say "kotlin: every block compiles"
}

cmd_swift() {
  local src=$OUT/swift
  extract swift "$src" docs/integration-ios.md README.md
  # The facade's UIKit-only glue compiles nowhere else here: type-check it as app code against the UIKit stub.
  { echo 'import Chatflow'; cat ios/Sources/Chatflow/AppLifecycle.swift; } > "$src/facade_AppLifecycle.swift"
  [ -d .build ] || die "no .build: run scripts/bindings.sh swift first (it builds the root Package.swift)"
  say "swiftc (chroot): $(find "$src" -name '*.swift' | wc -l) blocks against the Chatflow module and the Apple stubs"
  # The stubs become modules named after the frameworks, so a snippet's `import UserNotifications` reads as in an app.
  scripts/toolchains.sh swift-run "$ROOT" -- '
    set -e
    mods=build/guides/swift-modules
    rm -rf "$mods"; mkdir -p "$mods"
    for stub in tests/guides/apple-stubs/*.swift; do
      name=$(basename "$stub" .swift)
      swiftc -emit-module -parse-as-library -swift-version 6 -module-name "$name" "$stub" -emit-module-path "$mods/$name.swiftmodule"
    done
    built=$(swift build --show-bin-path)
    swiftc -typecheck -swift-version 6 -parse-as-library -module-name GuideSnippets \
      -I "$built/Modules" -I "$built" -I "$mods" -Xcc -fmodule-map-file=ios/Sources/ChatflowFFI/module.modulemap \
      tests/guides/GuideScreen.swift build/guides/swift/*.swift'
  say "swift: every block compiles"
}

case ${1:-} in
  kotlin) cmd_kotlin ;;
  swift) cmd_swift ;;
  extract) extract "${2:?language}" "$OUT/${2}" "${@:3}" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
