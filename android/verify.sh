# shellcheck shell=bash
# The verify step of android/build.sh (sourced): checks an AAR tree or a built .aar the way AGP, the Android loader
# and R8 will see it. Needs readelf, unzip, javap and the JNA jar (scripts/toolchains.sh env).
#
#   cmd_verify DIR|AAR
#
# 1. layout: AndroidManifest.xml naming a package and setting no backup attribute, classes.jar, proguard.txt,
#    jni/<abi>/libchatflow_ffi.so and nothing else under jni/ (an unknown ABI directory is an error);
# 2. each library: the ELF machine of its ABI, stripped (no .symtab, no .debug_*), every LOAD segment aligned to
#    16 KB with offset ≡ address (mod 16 KB), GNU_RELRO ending on a 16 KB boundary (its last page is made read-only),
#    every symbol the generated Kotlin binds exported, and the build id of the library the bindings were generated
#    from (kotlin.source, written by `bindings`);
# 3. consumer rules (proguard.txt): every class-keeping rule names classes that exist (in classes.jar or JNA),
#    and every class JNA reaches by reflection (subclasses/implementations of com.sun.jna types, classes with native
#    methods) is kept by a rule; JNA's structures list their fields in an annotation, so annotations are kept.

verify_fail() { say "verify: FAIL: $*"; VERIFY_FAILED=1; }

cmd_verify() {
  local src=$1 tree tmp
  VERIFY_FAILED=0
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatflow-aar-verify.XXXXXX")
  # shellcheck disable=SC2064  # verify is the last step of every command that runs it
  trap "rm -rf '$tmp'" EXIT
  if [ -f "$src" ]; then
    unzip -q "$src" -d "$tmp/aar"
    tree=$tmp/aar
  elif [ -d "$src" ]; then
    tree=$src
  else
    die "verify: no AAR tree or .aar at $src"
  fi
  step "verify $src"
  verify_layout "$tree"
  local so
  for so in "$tree"/jni/*/"$LIB"; do
    [ -f "$so" ] && verify_library "$so" "$(basename "$(dirname "$so")")"
  done
  [ -f "$tree/classes.jar" ] && [ -f "$tree/proguard.txt" ] && verify_rules "$tree" "$tmp"
  [ "$VERIFY_FAILED" = 0 ] || die "verify: $src has the problems above"
  say "verify: OK ($src)"
}

verify_layout() {
  local tree=$1 f dir abi
  for f in AndroidManifest.xml classes.jar proguard.txt; do
    [ -f "$tree/$f" ] || verify_fail "layout: no $f"
  done
  grep -q 'package="[A-Za-z_][A-Za-z0-9_.]*"' "$tree/AndroidManifest.xml" 2>/dev/null ||
    verify_fail "layout: AndroidManifest.xml names no package"
  # Backup policy is the app's: a library's backup attributes would be merged into the app's <application>. The SDK
  # keeps its files in noBackupFilesDir instead (docs/decisions.md #12).
  if grep -Eq 'allowBackup|fullBackupContent|dataExtractionRules|backupAgent' "$tree/AndroidManifest.xml" 2>/dev/null; then
    verify_fail "layout: AndroidManifest.xml sets a backup attribute; the app's backup policy must stay the app's"
  fi
  # The TLS platform verifier's Rust half loads its Kotlin half by name through JNI: without it in the AAR, every
  # HTTPS connection on a device fails.
  local jar found=""
  for jar in "$tree"/libs/*.jar; do
    if [ -f "$jar" ] && unzip -Z1 "$jar" | grep -x "$VERIFIER_CLASS" >/dev/null; then found=$jar; fi
  done
  [ -n "$found" ] || verify_fail "layout: no jar in libs/ holds $VERIFIER_CLASS (the TLS verifier's Kotlin half: android/build.sh verifier-jar)"
  [ -d "$tree/jni" ] || { verify_fail "layout: no jni/ directory"; return; }
  for dir in "$tree"/jni/*; do
    abi=$(basename "$dir")
    abi_machine "$abi" >/dev/null || verify_fail "layout: jni/$abi is not an ABI directory AGP/JNA knows"
    [ "$(find "$dir" -type f | sed "s|^$dir/||")" = "$LIB" ] ||
      verify_fail "layout: jni/$abi must hold exactly $LIB (has: $(find "$dir" -type f -printf '%f ' 2>/dev/null))"
  done
  say "verify: layout of $(find "$tree" -maxdepth 1 -printf '%f ' | sed 's/^[^ ]* //')"
}

verify_library() {
  local so=$1 abi=$2 want machine align bad want_id id missing
  want=$(abi_machine "$abi") || return 0
  machine=$(readelf -hW "$so" | sed -n 's/^ *Machine: *//p')
  [ "$machine" = "$want" ] || verify_fail "jni/$abi: ELF machine is '$machine', expected '$want'"
  if readelf -SW "$so" | grep -Eq ' \.(symtab|debug_[a-z_]+) '; then
    verify_fail "jni/$abi: not stripped ($(readelf -SW "$so" | grep -Eo ' \.(symtab|debug_[a-z_]+) ' | tr -d ' ' | tr '\n' ' '))"
  fi
  # Program headers: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg(1-3 fields) Align (last field).
  bad=$(readelf -lW "$so" | awk -v page="$PAGE" '
    function hex(s,   i, v) {   # mawk has no strtonum
      s = tolower(s); sub(/^0x/, "", s)
      for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
      return v
    }
    $1 == "LOAD" {
      off = hex($2); va = hex($3); align = hex($NF); n++
      if (align < page || align % page) printf "LOAD #%d aligned to %s; ", n, $NF
      else if (off % page != va % page) printf "LOAD #%d offset %s and address %s differ mod %d; ", n, $2, $3, page
    }
    $1 == "GNU_RELRO" {
      end = hex($3) + hex($6)
      if (end % page) printf "GNU_RELRO ends at 0x%x, not on a %d-byte page; ", end, page
    }
    END { if (!n) printf "no LOAD segment" }')
  [ -z "$bad" ] || verify_fail "jni/$abi: 16 KB pages: $bad"
  align=$(readelf -lW "$so" | awk '$1 == "LOAD" { printf "%s ", $NF }')
  if [ -f "$OUT/kotlin.source" ] && [ "$(sed -n 's/^abi=//p' "$OUT/kotlin.source")" = "$abi" ]; then
    want_id=$(sed -n 's/^build_id=//p' "$OUT/kotlin.source")
    id=$(build_id "$so")
    [ -n "$id" ] && [ "$id" = "$want_id" ] ||
      verify_fail "jni/$abi: build id '$id' is not the one the bindings were generated from ('$want_id')"
  fi
  if [ -d "$OUT/kotlin" ]; then
    # Every C symbol the generated Kotlin declares (JNA binds them by name) must be exported.
    missing=$(comm -23 \
      <(grep -rhoE '\b(uniffi|ffi_chatflow)_[A-Za-z0-9_]+\(' "$OUT/kotlin" | tr -d '(' | sort -u) \
      <(readelf --dyn-syms -W "$so" | awk '$7 != "UND" { print $8 }' | sed 's/@.*//' | sort -u))
    [ -z "$missing" ] || verify_fail "jni/$abi: not exported: $(echo "$missing" | head -n 5 | tr '\n' ' ')"
  fi
  say "verify: jni/$abi/$LIB: $(stat -c %s "$so") bytes, $machine, stripped, LOAD align $align"
}

# glob_re PATTERN: a ProGuard class-name pattern as an anchored ERE (** any chars, * no dot, ? one non-dot char;
# a lone * is any class, as in `-keep class * implements ...`).
glob_re() {
  local p=$1
  [ "$p" = '*' ] && p='**'
  p=${p//./\\.}
  p=${p//\$/\\\$}
  p=${p//\*\*/@ANY@}
  p=${p//\*/[^.]*}
  p=${p//\?/[^.]}
  p=${p//@ANY@/.*}
  printf '^%s$' "$p"
}

verify_rules() {
  local tree=$1 tmp=$2 rules=$tmp/rules decls=$tmp/classes reached=$tmp/reached kept=$tmp/kept
  # JNA_JAR: the JNA the AAR depends on (Gradle passes its own); else the Debian one (scripts/toolchains.sh env).
  [ -n "${JNA_JAR:-}" ] || eval "$(scripts/toolchains.sh env)"
  # One line per class of classes.jar: NAME|direct supertypes|native (1 when it declares native methods).
  # The library's own classes and the jars it bundles (libs/: the TLS verifier's Kotlin classes).
  local cp=$tree/classes.jar jar
  unzip -Z1 "$tree/classes.jar" '*.class' | grep -v 'module-info' | sed 's/\.class$//; s|/|.|g' >"$tmp/names"
  for jar in "$tree"/libs/*.jar; do
    [ -f "$jar" ] || continue
    cp=$cp:$jar
    unzip -Z1 "$jar" '*.class' | grep -v 'module-info' | sed 's/\.class$//; s|/|.|g' >>"$tmp/names"
  done
  # shellcheck disable=SC2046
  javap -cp "$cp" $(cat "$tmp/names") | awk '
    function flush() { if (name != "") print name "|" supers "|" native }
    /^[a-z].*(class|interface|enum) [A-Za-z0-9_.$]+/ {
      flush(); line = $0
      while (gsub(/<[^<>]*>/, "", line)) {}            # generics out: List<Foo<Bar>> -> List
      sub(/ *\{ *$/, "", line)
      name = line; sub(/^.*(class|interface|enum) /, "", name); sub(/ .*/, "", name)
      supers = ""
      if (match(line, / (extends|implements) .*/)) {
        supers = substr(line, RSTART + 1); gsub(/(extends|implements|,)/, " ", supers); gsub(/  +/, " ", supers)
        sub(/^ /, "", supers); sub(/ $/, "", supers)
      }
      native = 0; next
    }
    / native / { native = 1 }
    END { flush() }' >"$decls"
  # JNA classes by name only (rules that keep JNA itself).
  unzip -Z1 "$JNA_JAR" 'com/sun/jna/*.class' | sed 's/\.class$//; s|/|.|g; s/$/||0/' >>"$decls"

  # Classes JNA reaches by reflection: a com.sun.jna supertype (directly or through another such class of ours),
  # or native methods (JNA direct mapping). Iterate to a fixed point over the jar's own class hierarchy.
  awk -F'|' '$2 ~ /(^| )com\.sun\.jna\./ || $3 == 1 { print $1 }' "$decls" | sort -u >"$reached"
  local before=-1
  while [ "$(wc -l <"$reached")" != "$before" ]; do
    before=$(wc -l <"$reached")
    awk -F'|' 'NR == FNR { r[$1] = 1; next }
      { n = split($2, s, " "); for (i = 1; i <= n; i++) if (s[i] in r) { print $1; break } }' \
      "$reached" "$decls" | sort -u - "$reached" -o "$reached"
  done

  # Rules: comments out, one option per line.
  sed 's/#.*//' "$tree/proguard.txt" | tr '\n' ' ' | sed 's/ -/\n-/g; s/^ *//' | sed 's/ *$//' | grep . >"$rules" || true
  : >"$kept"
  local rule opt spec name sup members re sre n count=0
  while IFS= read -r rule; do
    opt=${rule%% *}
    case ${opt%%,*} in
      -keep | -keepclassmembers | -keepclasseswithmembers | -keepnames | -keepclassmembernames | -keepclasseswithmembernames) ;;
      *) continue ;;
    esac
    count=$((count + 1))
    spec=${rule#"$opt"}
    # [modifiers] class|interface|enum NAME [extends|implements SUPER] [{ members }]
    if [[ $spec =~ ^[[:space:]]*((public|final|abstract|!?[a-z]+)[[:space:]]+)*(class|interface|enum)[[:space:]]+([A-Za-z0-9_.\$*?]+)([[:space:]]+(extends|implements)[[:space:]]+([A-Za-z0-9_.\$*?]+))?[[:space:]]*(\{(.*)\})?[[:space:]]*$ ]]; then
      name=${BASH_REMATCH[4]} sup=${BASH_REMATCH[7]} members=${BASH_REMATCH[9]}
    else
      verify_fail "rules: cannot read '$rule' (verify understands: -keep* [modifiers] class NAME [extends|implements NAME] { ... })"
      continue
    fi
    re=$(glob_re "$name")
    sre=""
    [ -n "$sup" ] && sre=$(glob_re "$sup")
    # ProGuard's extends/implements match any ancestor, not only the direct supertypes.
    awk -F'|' -v re="$re" -v sre="$sre" -v nat="$([[ $members == *native* ]] && echo 1 || echo 0)" '
      { sup[$1] = $2; native[$1] = $3; order[NR] = $1 }
      function derives(c, depth,   n, s, i) {
        if (depth > 64) return 0
        n = split(sup[c], s, " ")
        for (i = 1; i <= n; i++) if (s[i] ~ sre || ((s[i] in sup) && derives(s[i], depth + 1))) return 1
        return 0
      }
      END {
        for (i = 1; i <= NR; i++) {
          c = order[i]
          if (c ~ re && (!nat || native[c] == 1) && (sre == "" || derives(c, 0))) print c
        }
      }' "$decls" >"$tmp/match"
    n=$(wc -l <"$tmp/match")
    if [ "$n" = 0 ]; then
      verify_fail "rules: '$rule' matches no class in classes.jar, libs/ or JNA"
    else
      say "verify: rule '$rule' keeps $n classes"
      cat "$tmp/match" >>"$kept"
    fi
  done <"$rules"
  [ "$count" -gt 0 ] || verify_fail "rules: proguard.txt keeps nothing"

  local unkept
  unkept=$(sort -u "$kept" | comm -13 - "$reached")
  if [ -n "$unkept" ]; then
    verify_fail "rules: JNA reaches these classes by reflection but no rule keeps them: $(echo "$unkept" | head -n 5 | tr '\n' ' ')"
  else
    say "verify: all $(wc -l <"$reached") classes JNA reaches by reflection are kept"
  fi
  grep -Eq '^-keepattributes .*(\*Annotation\*|RuntimeVisibleAnnotations)' "$rules" ||
    verify_fail "rules: JNA structures declare their field order in an annotation: add -keepattributes RuntimeVisibleAnnotations"
}
