#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes fuzz seeds taken from ../shared/fixtures into OUT/<target>/, at run time (the
fixtures are never copied into the project): the bodies of Loki's quoted 400 answers, the
Kubernetes Pod/Namespace objects (and watch streams made of them, cut at places of their own),
the bodies of the VCR cassettes. The other targets take fixture folders as they are (README,
Fuzzing). Usage: fixture_seeds.py OUT [SHARED_DIR]"""

import json
import os
import pathlib
import sys


def write(out, target, name, data):
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def main():
    out = pathlib.Path(sys.argv[1])
    shared = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else
                          pathlib.Path(__file__).resolve().parents[3] / "shared")
    fixtures = shared / "fixtures"
    if not fixtures.is_dir():
        print(f"no fixtures at {fixtures}: nothing written")
        return 0
    count = 0
    # Loki: the quoted bodies of its push answers, and the format strings.
    loki = json.loads((fixtures / "loki/error-responses.json").read_text())
    for r in loki["responses"]:
        write(out, "loki_errors", r["id"] + ".txt", r["body"])
        count += 1
    # Kubernetes: each Pod or Namespace object, and one watch stream of them all.
    events = []
    for meta in sorted((fixtures / "k8s").rglob("*.meta")) + sorted((fixtures / "k8s").rglob("*.json")):
        text = meta.read_text(errors="replace")
        write(out, "kube_api", meta.name, text)
        count += 1
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("kind") == "Pod":
            events.append(json.dumps({"type": "ADDED", "object": obj}))
    if events:
        write(out, "kube_api", "watch-of-fixture-pods.ndjson", "\n".join(events) + "\n")
        count += 1
    # The VCR cassettes' answer bodies.
    try:
        import yaml
    except ImportError:
        yaml = None
    for cassette in sorted((fixtures / "k8s").rglob("*.yml")) if yaml else []:
        doc = yaml.safe_load(cassette.read_text(errors="replace")) or {}
        for i, interaction in enumerate(doc.get("http_interactions", [])):
            body = ((interaction.get("response") or {}).get("body") or {}).get("string")
            if body:
                write(out, "kube_api", f"{cassette.stem}-{i}.json", body)
                count += 1
    print(f"{count} seeds written under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
