#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/: delivery rate under partial failure (issue 13, Build 2). The chaos suite's pipeline
(tests/chaos/chaos.conf: the seed's fluent.conf with flush_interval 1s, file buffer) reads LINES
CRI lines written beforehand into 4 container logs and sends them to the Elasticsearch stand-in
(documents kept, `create` with 409s), first fault-free, then with 20% of items answered 429,
10% of requests 503 and 5% of connections cut after processing. Measured from sluice's start
until the stand-in holds every line (distinct "seq"s); documents/s for each and the ratio.

  python3 bench/delivery_rate.py [LINES] [RUNS]     (bench/run_delivery.sh builds first)

The runs alternate, fault-free then faulty, so that both see the same machine (its load moves
the figures by tens of percent on a shared host); the ratio is of the medians.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "chaos"))
import chaos  # noqa: E402


class Args:
    short = False
    keep = False
    sluice = os.environ.get("SLUICE_BIN", f"{chaos.ROOT}/build/sluice")  # another build, to compare
    standins = f"{chaos.ROOT}/build/tests/chaos/sluice_chaos_standins"
    conf = f"{chaos.HERE}/chaos.conf"


def one(lines, faults, limit):
    s = chaos.Scenario(Args, "delivery")
    try:
        if faults:
            s.standins.cmd(faults)
        for p in s.pods:
            p.write(lines // len(s.pods), 0, False, 5)
        start = time.monotonic()
        s.sluice.start()
        done = None
        while time.monotonic() - start < limit:
            if s.standins.count() >= lines and s.standins.tally()["distinct"] >= lines:
                done = time.monotonic() - start
                break
            time.sleep(0.1)  # polling interval
        t = s.standins.tally()
        s.sluice.stop()
        return done, t
    finally:
        s.close(False)


def main():
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    lines -= lines % chaos.PODS
    print(f"delivery rate: {lines} lines in {chaos.PODS} files, seed pipeline (flush_interval 1s, file buffer), "
          f"{os.cpu_count()} cores")
    rates = {"fault-free": [], "faulty": []}
    for run in range(runs):
        for label, faults in (("fault-free", None), ("faulty", "faults 0.20 0.10 0.05 0 11")):
            done, t = one(lines, faults, 600)
            if done is None:
                print(f"  {label} run {run + 1}: not every line delivered in 600 s "
                      f"({t['distinct']} of {lines}, {t['bulks']} bulk requests)")
                continue
            rates[label].append(lines / done)
            print(f"  {label} run {run + 1}: {done:.1f} s, {lines / done:,.0f} documents/s, "
                  f"{t['bulks']} bulk requests, {t['conflicts']} 409s, {t['stored'] - t['distinct']} duplicates")
    if rates["fault-free"] and rates["faulty"]:
        free = statistics.median(rates["fault-free"])
        faulty = statistics.median(rates["faulty"])
        print(f"median of {runs}: fault-free {free:,.0f} documents/s, faulty {faulty:,.0f} documents/s, "
              f"ratio {faulty / free:.0%} (target >= 50%)")


if __name__ == "__main__":
    main()
