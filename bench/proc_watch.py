#!/usr/bin/env python3
"""Runs sluice until a pos_file shows every input file read to its end (or, with
`--count FILE N`, until FILE holds a number >= N: documents a stand-in stored); prints wall
time, CPU time (user + system, from /proc/PID/stat), peak RSS (VmHWM, KiB), then user and
system CPU apart. Used by bench/run_*.sh. With SLUICE_BENCH_PERF=FILE in the environment,
`perf record -F 499 -g` follows sluice into FILE while it runs (SLUICE_BENCH_PERF_HZ and
SLUICE_BENCH_PERF_CALLS=dwarf change the rate and the call graphs); with SLUICE_BENCH_SMAPS=FILE,
its /proc/PID/smaps at the highest RSS seen is kept in FILE (where the memory is)."""
import os, signal, subprocess, sys, time

# Every sluice started here serves its monitor on a free port: runs side by side never collide.
os.environ.setdefault("SLUICE_MONITOR_PORT", "0")

def cpu_split(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / hz, int(fields[12]) / hz

def hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

def done(pos_file, sizes):
    try:
        entries = {}
        for line in open(pos_file):
            path, off = line.rstrip("\n").split("\t")[:2]  # sluice adds a fingerprint column
            entries[path] = int(off, 16)
        return all(entries.get(p) == s for p, s in sizes.items())
    except (OSError, ValueError):
        return False

def counted(status_file, n):
    try:
        return int(open(status_file).read().strip() or 0) >= n
    except (OSError, ValueError):
        return False

def main():
    if sys.argv[1] == "--count":
        status_file, n, cmd = sys.argv[2], int(sys.argv[3]), sys.argv[4:]
        finished = lambda: counted(status_file, n)
    else:
        pos_file, files, cmd = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
        sizes = {p: os.path.getsize(p) for p in files}
        finished = lambda: done(pos_file, sizes)
    start = time.monotonic()
    proc = subprocess.Popen(cmd)
    perf = None
    if os.environ.get("SLUICE_BENCH_PERF"):
        time.sleep(0.3)  # attached once sluice's threads are there
        perf = subprocess.Popen(["perf", "record", "-q", "-F", os.environ.get("SLUICE_BENCH_PERF_HZ", "499"),
                                 "--call-graph", os.environ.get("SLUICE_BENCH_PERF_CALLS", "fp"), "-p", str(proc.pid),
                                 "-o", os.environ["SLUICE_BENCH_PERF"]], stdout=subprocess.DEVNULL)
    smaps, top = os.environ.get("SLUICE_BENCH_SMAPS"), 0
    while not finished():
        if proc.poll() is not None:
            sys.exit("sluice exited early")
        if smaps:
            try:
                rss = int(open(f"/proc/{proc.pid}/statm").read().split()[1])
                if rss > top:
                    top = rss
                    data = open(f"/proc/{proc.pid}/smaps").read()
                    open(smaps, "w").write(data)
            except OSError:
                pass
        time.sleep(0.01)
    wall = time.monotonic() - start
    (user, sys_), hwm = cpu_split(proc.pid), hwm_kib(proc.pid)
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    print(f"{wall:.3f} {user + sys_:.3f} {hwm} {user:.3f} {sys_:.3f}")

main()
