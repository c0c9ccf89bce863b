#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when a file of the core (src/core, src/config, src/buffer, src/engine, src/monitor)
names a plugin type: a string literal equal to a registered plugin's name or alias on a line
that speaks of a type (`type`, `@type`, the registry). The engine must know plugins
only through their descriptors (issue 14).

Usage: check_core_names.py SLUICE_BINARY SOURCE_DIR [FILE...]
The plugin names are read from `sluice --describe all --markdown`, so the check follows the
generated plugin list. Files given after SOURCE_DIR are checked instead of the core (the
boundary test's probe)."""
import pathlib
import re
import subprocess
import sys

CORE_DIRS = ["src/core", "src/config", "src/buffer", "src/engine", "src/monitor"]
CONTEXT = re.compile(r"\btype\b|@type|[Rr]egistry")
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def plugin_names(binary):
    text = subprocess.run([binary, "--describe", "all", "--markdown"], check=True,
                          capture_output=True, text=True).stdout
    names = set(re.findall(r"^#### \w+ `([^`]+)`", text, re.M))
    for line in re.findall(r"^Also known as:(.*)$", text, re.M):
        names.update(re.findall(r"`([^`]+)`", line))
    if not names:
        sys.exit("no plugin names in --describe all")
    return names


def strip_comments(source):
    # Block comments keep their newlines so line numbers stay right; strings are kept.
    out, i, n = [], 0, len(source)
    while i < n:
        c = source[i]
        if c == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append(source[i:j + 1])
            i = j + 1
        elif source.startswith("//", i):
            j = source.find("\n", i)
            i = n if j < 0 else j
        elif source.startswith("/*", i):
            j = source.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * source.count("\n", i, j))
            i = j
        elif source.startswith('R"', i):
            delim = source[i + 2:source.find("(", i + 2)]
            j = source.find(")" + delim + '"', i)
            j = n if j < 0 else j + len(delim) + 2
            out.append("\n" * source.count("\n", i, j))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def main():
    binary, source_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    names = plugin_names(binary)
    if len(sys.argv) > 3:
        files = [pathlib.Path(f) for f in sys.argv[3:]]
    else:
        files = sorted(f for d in CORE_DIRS for f in (source_dir / d).rglob("*")
                       if f.suffix in (".h", ".cc"))
    found = []
    for f in files:
        for number, line in enumerate(strip_comments(f.read_text()).splitlines(), 1):
            if not CONTEXT.search(line):
                continue
            for literal in LITERAL.findall(line):
                if literal in names:
                    found.append(f"{f}:{number}: names the plugin '{literal}': {line.strip()}")
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} place(s) in the core name a plugin type; ask the descriptor instead")
        return 1
    print(f"checked {len(files)} files against {len(names)} plugin names: none named")
    return 0


if __name__ == "__main__":
    sys.exit(main())
