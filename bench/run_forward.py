#!/usr/bin/env python3
"""Forward out -> forward in on this machine: two sluice processes.

  sender:   stdin (json) -> forward output (memory buffer, require_ack_response, keepalive)
  receiver: forward input -> file output (JSON lines)

Generates LINES JSON lines (~250 bytes, bench/gen_lines.cc), starts the receiver, then feeds
the file to the sender's stdin; the run ends when the receiver's output holds every line.
Prints wall time, events/s, and the CPU seconds (user + system from /proc/PID/stat) of each
process and their sum per million events, for 3 runs. Options: --compress gzip, --tls (a
throw-away CA made with the openssl command), --lines N.

  python3 bench/run_forward.py [--lines 1000000] [--compress gzip] [--tls]
"""
import argparse, os, re, subprocess, sys, tempfile, time

os.environ.setdefault("SLUICE_MONITOR_PORT", "0")  # the monitor on a free port
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLUICE = os.path.join(ROOT, "build", "sluice")

def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def lines_in(path):
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0

def make_ca(d):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=bench", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem"],
                   check=True, capture_output=True)
    return f"{d}/cert.pem", f"{d}/key.pem"

def run(work, n, compress, tls):
    out = f"{work}/out.jsonl"
    if os.path.exists(out):
        os.unlink(out)
    transport_in = transport_out = ""
    if tls:
        cert, key = make_ca(work)
        transport_in = f" <transport tls>\n  cert_path {cert}\n  private_key_path {key}\n </transport>\n"
        transport_out = f" transport tls\n tls_cert_path {cert}\n"
    with open(f"{work}/rx.conf", "w") as f:
        f.write(f"<source>\n @type forward\n bind 127.0.0.1\n port 0\n{transport_in}</source>\n"
                f"<match **>\n @type file\n path {out}\n</match>\n")
    rx = subprocess.Popen([SLUICE, "-c", f"{work}/rx.conf"], stderr=open(f"{work}/rx.err", "w"))
    port = None
    for _ in range(500):
        m = re.search(r"Listening on 127\.0\.0\.1:(\d+)", open(f"{work}/rx.err").read())
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.01)
    assert port, open(f"{work}/rx.err").read()
    with open(f"{work}/tx.conf", "w") as f:
        f.write("<source>\n @type stdin\n tag bench\n <parse>\n  @type json\n </parse>\n</source>\n"
                f"<match bench>\n @type forward\n require_ack_response true\n keepalive true\n"
                f" compress {compress}\n{transport_out}"
                f" <server>\n  host 127.0.0.1\n  port {port}\n </server>\n"
                " <buffer>\n  @type memory\n  chunk_limit_size 1m\n  flush_mode interval\n  flush_interval 0.05\n"
                "  flush_thread_count 2\n  total_limit_size 512m\n  overflow_action block\n </buffer>\n</match>\n")
    rx_cpu0 = cpu(rx.pid)
    start = time.monotonic()
    tx = subprocess.Popen([SLUICE, "-c", f"{work}/tx.conf", "--log-level", "warn"],
                          stdin=open(f"{work}/in.jsonl"), stderr=open(f"{work}/tx.err", "w"))
    tx_cpu = 0.0
    while lines_in(out) < n:
        if tx.poll() is None:
            tx_cpu = cpu(tx.pid)
        if time.monotonic() - start > 600:
            raise SystemExit("timed out: " + open(f"{work}/tx.err").read())
        time.sleep(0.02)
    wall = time.monotonic() - start
    rx_cpu = cpu(rx.pid) - rx_cpu0
    if tx.poll() is None:
        tx_cpu = cpu(tx.pid)
    tx.wait(timeout=60)
    rx.terminate()
    rx.wait(timeout=60)
    total = tx_cpu + rx_cpu
    print(f"run: {n} events in {wall:.2f} s wall, {n / wall:,.0f} events/s; cpu sender {tx_cpu:.2f} s, "
          f"receiver {rx_cpu:.2f} s, {total / n * 1e6:.2f} CPU-s per million events", flush=True)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--compress", default="text", choices=["text", "gzip"])
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="use build/ as it is")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["bash", os.path.join(ROOT, "scripts/build.sh"), "sluice", "sluice_gen"], check=True,
                       stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as work:
        with open(f"{work}/in.jsonl", "w") as f:
            subprocess.run([os.path.join(ROOT, "build/bench/sluice_gen"), str(a.lines)], stdout=f, check=True)
        size = os.path.getsize(f"{work}/in.jsonl")
        print(f"input: {a.lines} lines, {size} bytes ({size // a.lines} bytes/line); compress {a.compress}, "
              f"tls {'on' if a.tls else 'off'}; {os.cpu_count()} cores; {os.uname().release}")
        os.sync()
        for _ in range(3):
            run(work, a.lines, a.compress, a.tls)

if __name__ == "__main__":
    main()
