# SPDX-License-Identifier: Apache-2.0
"""The chaos suite's harness (used by chaos.py, which holds the scenarios and the report): the
stand-ins' process, kubelet-style pods and their writer thread, the sluice under test, and a
Scenario that ties them together and counts what was delivered at the end. Each class is used
from the scenario's thread; Writer runs its own thread."""

import gzip
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

# Every sluice started here serves its monitor on a free port: runs side by side never collide.
os.environ.setdefault("SLUICE_MONITOR_PORT", "0")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PODS = 4
PAD = "x" * 120


def die_with_parent():
    """preexec: the child gets SIGKILL when the suite ends, even when ctest kills it on a timeout."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class StandIns:
    """The stand-ins' process and its command channel (one answer line per command)."""

    def __init__(self, binary, pods, err):
        self.p = subprocess.Popen([binary, str(pods)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=err, text=True, bufsize=1, preexec_fn=die_with_parent)
        ready = self.p.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError(f"stand-ins did not start: {ready}")
        self.es_port, self.k8s_port = int(ready[1]), int(ready[2])
        self.lock = threading.Lock()

    def cmd(self, text):
        with self.lock:
            self.p.stdin.write(text + "\n")
            self.p.stdin.flush()
            answer = self.p.stdout.readline().split()
        if not answer or answer[0] == "error":
            raise RuntimeError(f"stand-ins: {text!r} -> {answer}")
        return answer

    def count(self):
        return int(self.cmd("count")[1])

    def tally(self):
        a = self.cmd("tally")
        return {"stored": int(a[1]), "distinct": int(a[2]), "bulks": int(a[3]), "conflicts": int(a[4]),
                "with_pod": int(a[5]), "without_seq": int(a[6])}

    def close(self):
        try:
            self.cmd("quit")
        except Exception:
            pass
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


class Pod:
    """One container's log as the kubelet and containerd keep it: /var/log/pods/<ns>_<pod>_<uid>/
    <container>/0.log, linked from /var/log/containers/<pod>_<ns>_<container>-<id>.log. Rotation
    (kubelet's containerLogManager): remove the rotated files beyond maxFiles, gzip the newest
    rotated file (0.log.<ts> -> 0.log.<ts>.tmp -> 0.log.<ts>.gz), rename 0.log to 0.log.<ts>;
    the runtime writes a line or two more into the renamed file before it reopens 0.log."""

    def __init__(self, root, i, rng):
        self.i = i
        self.rng = rng
        self.dir = f"{root}/var/log/pods/default_chaos-{i}_6c1f9b5d-2e3f-4a5b-8c9d-0e1f2a3b4c{10 + i}/main"
        os.makedirs(self.dir, exist_ok=True)
        self.live = f"{self.dir}/0.log"
        self.manifest = open(f"{root}/files-{i}.txt", "w")  # what was created, for investigations
        self.n = 0
        self.fd = self.open_live()
        os.symlink(self.live, f"{root}/var/log/containers/chaos-{i}_default_main-{'c' * 64}.log")
        self.in_file = 0
        self.rotated = []  # oldest first
        self.rotations = 0

    def open_live(self):
        fd = os.open(self.live, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.note("create 0.log", fd=fd)
        return fd

    def note(self, what, fd=None, path=None):
        ino = os.fstat(fd).st_ino if fd is not None else os.stat(path).st_ino
        self.manifest.write(f"{time.strftime('%H:%M:%S')}.{int(time.time() % 1 * 1000):03d} line {self.n} "
                            f"inode {ino} {what}\n")
        self.manifest.flush()

    def lines(self, count):
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z"
        out = []
        for _ in range(count):
            out.append(f'{stamp} stdout F {{"seq":"chaos-{self.i}:{self.n}","level":"info",'
                       f'"message":"chaos line {self.n}","n":{self.n},"pad":"{PAD}"}}\n')
            self.n += 1
        return "".join(out).encode()

    def write(self, count, rotate_every, compress, max_files):
        while count > 0:
            k = min(count, rotate_every - self.in_file) if rotate_every else count
            os.write(self.fd, self.lines(k))
            count -= k
            self.in_file += k
            if rotate_every and self.in_file >= rotate_every:
                late = self.rng.randint(0, 2)
                self.rotate(compress, max_files)
                if late:  # written by the runtime into the renamed file before it reopened
                    os.write(self.old_fd, self.lines(late))
                    count -= late
                os.close(self.old_fd)

    def rotate(self, compress, max_files):
        while len(self.rotated) > max_files - 2:
            gone = self.rotated.pop(0)
            self.note(f"delete {os.path.basename(gone)}", path=gone)
            os.unlink(gone)
        if compress and self.rotated and not self.rotated[-1].endswith(".gz"):
            plain = self.rotated[-1]
            with open(plain, "rb") as src, gzip.open(plain + ".tmp", "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst)
            os.rename(plain + ".tmp", plain + ".gz")
            self.note(f"gzip {os.path.basename(plain)} -> .gz", path=plain + ".gz")
            os.unlink(plain)
            self.rotated[-1] = plain + ".gz"
        # kubelet's names are seconds apart (20060102-150405); rotations here can be closer, so
        # the timestamp is a fictitious one that still sorts in rotation order.
        self.rotations += 1
        name = f"{self.live}.{time.strftime('%Y%m%d-%H%M%S', time.gmtime(1_800_000_000 + self.rotations))}"
        os.rename(self.live, name)
        self.note(f"rename 0.log -> {os.path.basename(name)}", fd=self.fd)
        self.rotated.append(name)
        self.old_fd = self.fd
        self.fd = self.open_live()
        self.in_file = 0


class Writer(threading.Thread):
    """Writes `total` lines over the pods at `rate` lines/s."""

    def __init__(self, pods, total, rate, rotate_every=0, compress=False, max_files=5):
        super().__init__(daemon=True)
        self.pods, self.total, self.rate = pods, total, rate
        self.rotate_every, self.compress, self.max_files = rotate_every, compress, max_files
        self.written = 0
        self.error = None

    def run(self):
        try:
            start = time.monotonic()
            turn = 0
            while self.written < self.total:
                goal = min(self.total, int((time.monotonic() - start) * self.rate) + 1)
                while self.written < goal:
                    pod = self.pods[turn % len(self.pods)]
                    turn += 1
                    k = min(goal - self.written, max(1, self.rate // 200))
                    before = pod.n
                    pod.write(k, self.rotate_every, self.compress, self.max_files)
                    self.written += pod.n - before
                time.sleep(0.01)  # pacing, not synchronisation
        except Exception:  # reported by the scenario
            import traceback
            self.error = traceback.format_exc(limit=4)

    def rotations(self):
        return sum(p.rotations for p in self.pods)


class Sluice:
    """sluice as a DaemonSet runs it: restarted (as the kubelet would) when it dies."""

    def __init__(self, binary, conf, env, log_path, preexec=None):
        self.binary, self.conf, self.env, self.log_path, self.preexec = binary, conf, env, log_path, preexec
        self.p = None
        self.stopped = False
        self.starts = 0
        self.kills = 0
        self.unexpected = []  # exit statuses we did not cause
        self.peak_rss_kib = 0  # VmHWM of the runs that were stopped or killed

    def note_rss(self):
        try:
            with open(f"/proc/{self.p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kib = max(self.peak_rss_kib, int(line.split()[1]))
        except (OSError, AttributeError):
            pass

    def start(self):
        with open(self.log_path, "a") as f:
            f.write(f"--- start {self.starts + 1} at {time.strftime('%H:%M:%S')}\n")
            f.flush()
            self.p = subprocess.Popen([self.binary, "-c", self.conf], env=self.env, stdout=f, stderr=f,
                                      preexec_fn=self.child_setup)
        self.starts += 1

    def child_setup(self):
        die_with_parent()
        if self.preexec:
            self.preexec()

    def check(self):
        """Restarts sluice when it exited by itself; True when it did."""
        if self.p is not None and not self.stopped and self.p.poll() is not None:
            self.unexpected.append(self.p.returncode)
            log(f"sluice exited by itself ({self.p.returncode}); restarting it")
            self.start()
            return True
        return False

    def signal(self, sig):
        self.check()
        self.p.send_signal(sig)

    def kill(self):
        self.check()
        self.note_rss()
        self.p.kill()
        self.p.wait()
        self.kills += 1

    def stop(self, timeout=90):
        """SIGTERM and wait; a sluice that does not stop is SIGKILLed and that is reported."""
        if self.p is None or self.stopped:
            return
        self.stopped = True
        self.note_rss()
        if self.p.poll() is not None:
            self.unexpected.append(self.p.returncode)
            return
        self.p.send_signal(signal.SIGCONT)
        self.p.terminate()
        try:
            rc = self.p.wait(timeout=timeout)
            if rc != 0:
                self.unexpected.append(rc)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            self.unexpected.append("hung on SIGTERM")

    def log_count(self, *words):
        try:
            with open(self.log_path, errors="replace") as f:
                return sum(1 for line in f if any(w in line for w in words))
        except OSError:
            return 0


class Scenario:
    """A work folder, the stand-ins, the pods and a sluice; `finish` drains and counts."""

    def __init__(self, args, name, pods=PODS, buffer_dir=None, preexec=None, seed=1):
        self.args, self.name = args, name
        self.rng = random.Random(seed)
        self.dir = tempfile.mkdtemp(prefix=f"sluice-chaos-{name}-")
        for d in ("var/log/containers", "pos", "secrets", "buffer"):
            os.makedirs(f"{self.dir}/{d}")
        self.buffer_dir = buffer_dir or f"{self.dir}/buffer"
        self.err = open(f"{self.dir}/standins.log", "w")
        self.standins = StandIns(args.standins, pods, self.err)
        self.pods = [Pod(self.dir, i, self.rng) for i in range(pods)]
        self.env = dict(os.environ, CHAOS_DIR=self.dir, CHAOS_BUFFER_DIR=self.buffer_dir,
                        CHAOS_ES_PORT=str(self.standins.es_port), CHAOS_K8S_PORT=str(self.standins.k8s_port))
        self.sluice = Sluice(args.sluice, args.conf, self.env, f"{self.dir}/sluice.log", preexec)
        self.started = time.monotonic()
        self.notes = []

    def written(self):
        return sum(p.n for p in self.pods)

    def wait_writer(self, writer, during=None):
        """Waits for the writer, calling during() (the chaos) meanwhile."""
        while writer.is_alive():
            if during:
                during()
            else:
                self.sluice.check()
                writer.join(0.2)
        if writer.error:
            raise RuntimeError(f"writer failed: {writer.error}")

    def drain(self, quiet, limit):
        """Polls the stand-in until every line written is stored, or its count has not moved for
        `quiet` seconds, or `limit` seconds passed."""
        expected = self.written()
        last, changed, tallied = -1, time.monotonic(), 0.0
        end = time.monotonic() + limit
        while time.monotonic() < end:
            self.sluice.check()
            c = self.standins.count()
            now = time.monotonic()
            if c != last:
                last, changed = c, now
            if c >= expected and now - tallied >= 2:  # a tally copies every document: not too often
                tallied = now
                if self.standins.tally()["distinct"] >= expected:
                    return True
            if now - changed > quiet:
                return False
            time.sleep(0.25)  # polling interval
        return False

    def settle(self, quiet, limit=60):
        """Polls until the stand-in's count has not moved for `quiet` seconds."""
        last, changed = -1, time.monotonic()
        end = changed + limit
        while time.monotonic() < end:
            c = self.standins.count()
            if c != last:
                last, changed = c, time.monotonic()
            elif time.monotonic() - changed > quiet:
                return
            time.sleep(0.25)  # polling interval

    def finish(self, quiet=20, limit=240):
        if self.args.short:
            quiet = min(quiet, 10)
        complete = self.drain(quiet, limit)
        if complete:
            self.settle(3 if self.args.short else 5)  # copies that come late (a file read twice) count
        self.sluice.stop()
        if not complete:
            self.drain(5, 30)  # what the shutdown flush delivered
        t = self.standins.tally()
        written = self.written()
        r = {"name": self.name, "written": written, "delivered": t["distinct"],
             "lost": written - t["distinct"], "dup": t["stored"] - t["distinct"] - t["without_seq"],
             "conflicts": t["conflicts"], "bulks": t["bulks"], "time": time.monotonic() - self.started,
             "notes": self.notes, "dir": self.dir}
        if t["without_seq"]:
            self.notes.append(f"{t['without_seq']} documents without seq")
        if self.sluice.unexpected:
            r["exits"] = self.sluice.unexpected
            self.notes.append(f"sluice exited by itself: {self.sluice.unexpected}")
        lost_logged = self.sluice.log_count("lost", "Lost")
        if lost_logged:
            self.notes.append(f"{lost_logged} log lines say 'lost'")
        if r["lost"] or r["dup"]:
            for p in self.pods:
                a = self.standins.cmd(f"missing chaos-{p.i} {p.n}")
                if a[1] != "0" or a[3] != "0":
                    bar = a.index("|")
                    lost, dup = " ".join(a[4:bar]), " ".join(a[bar + 1:])
                    self.notes.append(f"pod {p.i}: {a[1]} missing{' (' + lost + ')' if lost else ''}, "
                                      f"{a[3]} dup{' (' + dup + ')' if dup else ''}")
        return r

    def close(self, keep):
        self.sluice.stop()
        self.standins.close()
        self.err.close()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def chaos_sleep(seconds):
    """The chaos schedule (when to strike), not synchronisation."""
    time.sleep(seconds)
