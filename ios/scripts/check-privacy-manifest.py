#!/usr/bin/env python3
"""Checks the SDK's privacy manifest, and optionally that it declares every required-reason API the library imports.

    check-privacy-manifest.py PrivacyInfo.xcprivacy [--symbols FILE]

The manifest must be a property list with exactly the keys Apple documents for a privacy manifest, each of the right
type: NSPrivacyTracking (false unless tracking domains are listed), NSPrivacyTrackingDomains, NSPrivacyCollectedDataTypes
(type, linked, tracking, purposes) and NSPrivacyAccessedAPITypes (a known category and reason codes like C617.1).

--symbols FILE: the library's undefined symbols, one per line as `nm -u` (Apple static library) or
`nm -D --undefined-only` (Linux) print them. Each symbol from Apple's required-reason list must have its category
declared. Apple's symbols carry a leading underscore and sometimes a `$INODE64` suffix; glibc's `stat64`-style names
are the same functions. Exit status 1 with one line per problem.
"""
import plistlib
import re
import sys

# Apple's "Describing use of required reason API": the C functions of each category a Rust/C library can import.
REQUIRED_REASON_SYMBOLS = {
    "NSPrivacyAccessedAPICategoryFileTimestamp": {
        "stat", "fstat", "lstat", "fstatat", "getattrlist", "getattrlistbulk", "fgetattrlist", "getattrlistat",
    },
    "NSPrivacyAccessedAPICategoryDiskSpace": {"statfs", "fstatfs", "statvfs", "fstatvfs"},
    "NSPrivacyAccessedAPICategorySystemBootTime": {"mach_absolute_time"},
    "NSPrivacyAccessedAPICategoryUserDefaults": {"OBJC_CLASS_$_NSUserDefaults"},
}
CATEGORIES = set(REQUIRED_REASON_SYMBOLS) | {"NSPrivacyAccessedAPICategoryActiveKeyboards"}
TOP_KEYS = {
    "NSPrivacyTracking": bool,
    "NSPrivacyTrackingDomains": list,
    "NSPrivacyCollectedDataTypes": list,
    "NSPrivacyAccessedAPITypes": list,
}
COLLECTED_KEYS = {
    "NSPrivacyCollectedDataType": str,
    "NSPrivacyCollectedDataTypeLinked": bool,
    "NSPrivacyCollectedDataTypeTracking": bool,
    "NSPrivacyCollectedDataTypePurposes": list,
}
REASON = re.compile(r"^[0-9A-F]{4}\.[0-9]$")


def check_keys(where, item, expected, problems):
    if not isinstance(item, dict):
        problems.append(f"{where}: expected a dictionary, got {type(item).__name__}")
        return False
    for key in sorted(set(item) - set(expected)):
        problems.append(f"{where}: unexpected key {key}")
    for key, kind in expected.items():
        if key not in item:
            problems.append(f"{where}: missing {key}")
        elif not isinstance(item[key], kind):
            problems.append(f"{where}: {key} must be a {kind.__name__}, got {type(item[key]).__name__}")
    return True


def check_manifest(manifest):
    problems = []
    if not check_keys("manifest", manifest, TOP_KEYS, problems):
        return problems, set()
    if manifest.get("NSPrivacyTracking") is True and not manifest.get("NSPrivacyTrackingDomains"):
        problems.append("NSPrivacyTracking is true but no NSPrivacyTrackingDomains are listed")
    for i, entry in enumerate(manifest.get("NSPrivacyCollectedDataTypes", [])):
        where = f"NSPrivacyCollectedDataTypes[{i}]"
        if check_keys(where, entry, COLLECTED_KEYS, problems):
            kind = entry.get("NSPrivacyCollectedDataType", "")
            if not str(kind).startswith("NSPrivacyCollectedDataType"):
                problems.append(f"{where}: unknown data type {kind}")
            if not entry.get("NSPrivacyCollectedDataTypePurposes"):
                problems.append(f"{where}: no purpose")
    declared = set()
    for i, entry in enumerate(manifest.get("NSPrivacyAccessedAPITypes", [])):
        where = f"NSPrivacyAccessedAPITypes[{i}]"
        if not check_keys(where, entry, {"NSPrivacyAccessedAPIType": str, "NSPrivacyAccessedAPITypeReasons": list},
                          problems):
            continue
        category = entry.get("NSPrivacyAccessedAPIType")
        if category not in CATEGORIES:
            problems.append(f"{where}: unknown category {category}")
        declared.add(category)
        reasons = entry.get("NSPrivacyAccessedAPITypeReasons") or []
        if not reasons:
            problems.append(f"{where}: {category} has no reason")
        for reason in reasons:
            if not isinstance(reason, str) or not REASON.match(reason):
                problems.append(f"{where}: reason {reason!r} is not a code like C617.1")
    return problems, declared


def plain_name(symbol):
    """`_stat$INODE64` (Apple) and `stat64@GLIBC_2.33` (Linux) are both `stat`."""
    name = symbol.split("@")[0].split("$INODE64")[0]
    if name.startswith("_"):
        name = name[1:]
    return re.sub(r"64$", "", name)


def used_categories(symbol_lines):
    names = {plain_name(line.split()[-1]) for line in symbol_lines if line.strip()}
    return {c: sorted(names & symbols) for c, symbols in REQUIRED_REASON_SYMBOLS.items() if names & symbols}


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--symbols"):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        with open(argv[1], "rb") as f:
            manifest = plistlib.load(f)
    except Exception as error:  # noqa: BLE001 - any parse failure is the same answer
        print(f"{argv[1]}: not a property list: {error}")
        return 1
    problems, declared = check_manifest(manifest)
    if len(argv) == 4:
        with open(argv[3]) as f:
            for category, symbols in sorted(used_categories(f).items()):
                if category not in declared:
                    problems.append(f"the library calls {', '.join(symbols)} but {category} is not declared")
    for problem in problems:
        print(f"{argv[1]}: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
