#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when a plugin's object files depend on a header of the source tree outside what the
plugin may see: src/core, src/config, src/monitor, its own folder under plugins/, and src/net or
src/codec when it declares USES net or codec. The include views (cmake/SluicePlugins.cmake) make
`#include "buffer/buffer.h"` fail to compile; this closes the other ways in: a path relative to
the plugin's file (`#include "../../src/engine/build_messages.h"`) or through a view's symbolic
link (`#include "core/../engine/build_messages.h"`, which the compiler records as a path under
the view where no such file is). Every header the compiler read is resolved to its real path
and must exist there, so no spelling gets past.

Usage: check_plugin_includes.py BUILD_DIR SOURCE_DIR BOUNDARY_FILE [TARGET...]
BOUNDARY_FILE (written by CMake) has one line per plugin library: `target<TAB>object dir
<TAB>allowed folder,allowed folder...`. Without TARGETs every plugin library is checked (not the
probes). The dependencies come from `ninja -t deps` (the build must be a Ninja one, built)."""
import os
import subprocess
import sys


def main():
    build, source, boundary = (os.path.realpath(a) for a in sys.argv[1:4])
    wanted = set(sys.argv[4:])
    targets = {}
    with open(boundary) as f:
        for line in f:
            name, objdir, allowed = line.rstrip("\n").split("\t")
            if wanted and name not in wanted:
                continue
            if not wanted and name.startswith("boundary_probe_"):
                continue
            targets[name] = (objdir.rstrip("/") + "/",
                             [os.path.realpath(a) for a in allowed.split(",") if a])
    if wanted - set(targets):
        sys.exit(f"unknown targets: {sorted(wanted - set(targets))}")
    deps = subprocess.run(["ninja", "-C", build, "-t", "deps"], check=True, capture_output=True,
                          text=True).stdout
    problems, objects, current = [], {name: 0 for name in targets}, None
    for line in deps.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            obj = line.split(":", 1)[0]
            current = next((n for n, (d, _) in targets.items() if obj.startswith(d)), None)
            if current:
                objects[current] += 1
            continue
        if current is None:
            continue
        path = os.path.realpath(os.path.join(build, line.strip()))
        if not os.path.exists(path):
            # The compiler records `core/../engine/x.h` as `engine/x.h` under the view, where no
            # such file is: the include climbed out of a view through its link.
            problems.append(f"{current}: reads {line.strip()}, which is no file there "
                            "(an include that climbed out of a view)")
            continue
        if not path.startswith(source + os.sep) or path.startswith(build + os.sep):
            continue  # system and third-party headers, generated files
        if not any(path == a or path.startswith(a + os.sep) for a in targets[current][1]):
            problems.append(f"{current}: reads {os.path.relpath(path, source)} "
                            f"(as {line.strip()}), outside the plugin API")
    for name, count in objects.items():
        if count == 0:
            problems.append(f"{name}: no object with dependencies in the build (not built?)")
    for p in sorted(set(problems)):
        print(p)
    if problems:
        print("a plugin reaches past the plugin API (see cmake/SluicePlugins.cmake)")
        return 1
    print(f"{len(targets)} plugin libraries read only what the plugin API allows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
