#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Kubernetes deployment (packaging/kubernetes) as an SRE would apply it.

  python3 tests/packaging/test_kubernetes.py manifests
      Renders each overlay with `kubectl kustomize` (what `kubectl apply -k` applies), validates
      every object and every base manifest against the Kubernetes OpenAPI schemas
      (validate-manifests.js, kubernetes-models pinned in package.json, unknown fields refused),
      and checks the DaemonSet: mounts, probes, RBAC, resources, security context, env; and
      each overlay with the podmonitor component (the Prometheus Operator's PodMonitor, its
      CRD schema from @kubernetes-models/prometheus-operator).
  python3 tests/packaging/test_kubernetes.py run --sluice BIN --standins BIN
      Runs the real sluice with the pipeline and environment the rendered DaemonSet gives it
      (the ConfigMap's sluice.conf, the container's env), its folders moved to a temporary
      root, as uid 0 with no capability and a read-only root file system but the state folder
      (the container's security context; where the test runs as root): the liveness and
      readiness paths answer 200 on the monitor, sluice's own log is not
      read, a container's line reaches the Elasticsearch stand-in, and SIGTERM ends it with 0
      well within terminationGracePeriodSeconds.

Exit status: 0 passed, 1 failed, 77 skipped (a tool missing: the message says which).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KUBE = os.path.join(ROOT, "packaging", "kubernetes")
OVERLAYS = ["elasticsearch", "loki"]
MONITOR_PORT = 24231  # sluice's default monitor port (README "Monitoring")
# bench/RESULTS.md, the DaemonSet pipeline end to end: peak RSS 57-68 MiB.
BENCH_PEAK_RSS_MIB = 68
READ_ONLY_HOST_PATHS = ["/var/log", "/var/lib/docker/containers", "/run/log/journal"]
# What the pipeline and a journal input read: each must lie under one of those mounts.
READ_PATHS = ["/var/log/containers", "/var/log/pods", "/var/lib/docker/containers", "/var/log/journal", "/run/log/journal"]
STATE_PATH = "/var/lib/sluice"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return cond


def skip(why):
    print(f"SKIP: {why}", flush=True)
    sys.exit(77)


def mebibytes(q):
    """A Kubernetes memory quantity in MiB."""
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(q))
    if not m:
        raise ValueError(f"memory quantity {q!r}")
    n = int(m.group(1))
    return {"Ki": n / 1024, "Mi": n, "Gi": n * 1024, None: n / (1024 * 1024)}[m.group(2)]


def render(overlay, components=(), tmp=None):
    """The overlay (with the given components) as `kubectl apply -k` would send it (YAML text)."""
    target = os.path.join(KUBE, "overlays", overlay)
    if components:
        # An overlay of the overlay, as a user adds a component: kustomize takes only relative
        # paths to other kustomizations.
        target = tempfile.mkdtemp(prefix="kustomization-", dir=tmp)
        rel = lambda p: os.path.relpath(p, target)
        with open(os.path.join(target, "kustomization.yaml"), "w") as f:
            f.write("resources:\n- " + rel(os.path.join(KUBE, "overlays", overlay)) + "\ncomponents:\n")
            for c in components:
                f.write("- " + rel(os.path.join(KUBE, "components", c)) + "\n")
    r = subprocess.run(["kubectl", "kustomize", target], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay}: {r.stderr.strip()}")
    return r.stdout


def validate(paths, json_out=None):
    """Runs the schema validator; returns (exit status, output)."""
    cmd = ["node", os.path.join(HERE, "validate-manifests.js")]
    if json_out:
        cmd += ["--json", json_out]
    r = subprocess.run(cmd + paths, capture_output=True, text=True, timeout=120, cwd=HERE)
    return r.returncode, r.stdout + r.stderr


def need_tools():
    if shutil.which("kubectl") is None:
        skip("kubectl (with its built-in kustomize) is not installed: bash scripts/setup.sh installs it")
    r = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30)
    try:
        kustomize = json.loads(r.stdout).get("kustomizeVersion", "")
    except ValueError:
        kustomize = ""
    m = re.match(r"v(\d+)\.", kustomize)
    if not m or int(m.group(1)) < 4:
        skip(f"kubectl's kustomize is {kustomize or 'unknown'}; the kustomizations need v4 or later (kubectl 1.21+)")
    if shutil.which("node") is None:
        skip("node is not installed: bash scripts/setup.sh installs it")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "kubernetes-models")):
        skip("tests/packaging/node_modules is missing: bash scripts/setup.sh runs npm ci there")


def rendered_objects(overlay, tmp, components=()):
    name = "+".join((overlay,) + tuple(components))
    yaml_path = os.path.join(tmp, f"{name}.yaml")
    with open(yaml_path, "w") as f:
        f.write(render(overlay, components, tmp))
    json_path = os.path.join(tmp, f"{name}.json")
    status, out = validate([yaml_path], json_path)
    print(out, end="")
    check(status == 0, f"{name}: the rendered objects are valid against the Kubernetes schemas")
    with open(json_path) as f:
        return json.load(f)


def one(objects, kind):
    found = [o for o in objects if o["kind"] == kind]
    if not check(len(found) == 1, f"exactly one {kind} (found {len(found)})"):
        raise SystemExit(1)
    return found[0]


def env_value(container, name):
    for e in container.get("env", []):
        if e["name"] == name:
            return e
    return None


def check_overlay(overlay, objects):
    print(f"--- {overlay}: {len(objects)} objects", flush=True)
    kinds = sorted(o["kind"] for o in objects)
    check(kinds == sorted(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"]),
          f"{overlay}: the objects are the Namespace, RBAC, ConfigMap and DaemonSet ({kinds})")
    ns = one(objects, "Namespace")["metadata"]["name"]
    for o in objects:
        if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            check(o["metadata"].get("namespace") == ns, f"{overlay}: {o['kind']} is in namespace {ns}")

    # RBAC: get/list/watch on pods and namespaces, nothing more.
    sa = one(objects, "ServiceAccount")
    role = one(objects, "ClusterRole")
    rules = role["rules"]
    check(len(rules) == 1, f"{overlay}: one RBAC rule ({rules})")
    r = rules[0]
    check(r.get("apiGroups") == [""], f"{overlay}: the rule is on the core API group only")
    check(sorted(r.get("resources", [])) == ["namespaces", "pods"], f"{overlay}: the rule names pods and namespaces only")
    check(sorted(r.get("verbs", [])) == ["get", "list", "watch"], f"{overlay}: the verbs are get, list, watch only")
    check("resourceNames" not in r and "nonResourceURLs" not in r, f"{overlay}: no other rule fields")
    crb = one(objects, "ClusterRoleBinding")
    check(crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
          f"{overlay}: the binding refers to the ClusterRole")
    check(crb["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": ns}],
          f"{overlay}: the binding's subject is the ServiceAccount in {ns}")

    ds = one(objects, "DaemonSet")
    spec = ds["spec"]
    pod = spec["template"]["spec"]
    check(pod.get("serviceAccountName") == sa["metadata"]["name"], f"{overlay}: the pods run as the ServiceAccount")
    check(pod.get("automountServiceAccountToken", True) is True, f"{overlay}: the token is mounted (the metadata filter needs it)")
    check(spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(),
          f"{overlay}: the selector matches the pod template's labels")
    check(spec.get("updateStrategy", {}).get("type") == "RollingUpdate", f"{overlay}: rolling updates")
    check(pod.get("priorityClassName") == "system-node-critical", f"{overlay}: priorityClassName system-node-critical")
    check({"operator": "Exists"} in pod.get("tolerations", []), f"{overlay}: a toleration of every taint")
    check(pod.get("hostNetwork") is not True and pod.get("hostPID") is not True, f"{overlay}: no host network or PID namespace")
    check(pod.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault",
          f"{overlay}: the runtime's default seccomp profile")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace >= 60, f"{overlay}: terminationGracePeriodSeconds {grace} leaves time to flush (>= 60)")

    containers = pod["containers"]
    check(len(containers) == 1, f"{overlay}: one container")
    c = containers[0]
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        version = re.search(r"project\(sluice VERSION ([0-9.]+)", f.read()).group(1)
    check(c["image"] == f"sluice:{version}", f"{overlay}: the image is sluice:{version} ({c['image']})")
    check(c.get("args") == ["-c", "/etc/sluice/sluice.conf"], f"{overlay}: sluice runs /etc/sluice/sluice.conf")

    # Security context: read-only root, no escalation, every capability dropped (at most
    # DAC_READ_SEARCH added back), not privileged.
    sc = c.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True, f"{overlay}: read-only root file system")
    check(sc.get("allowPrivilegeEscalation") is False, f"{overlay}: no privilege escalation")
    check(sc.get("privileged") is not True, f"{overlay}: not privileged")
    caps = sc.get("capabilities", {})
    check(caps.get("drop") == ["ALL"], f"{overlay}: every capability dropped")
    check(set(caps.get("add", [])) <= {"DAC_READ_SEARCH"}, f"{overlay}: no capability added but DAC_READ_SEARCH ({caps.get('add')})")

    # Resources from bench/RESULTS.md.
    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        for r_ in ("cpu", "memory"):
            check(r_ in res.get(kind, {}), f"{overlay}: resources.{kind}.{r_} is set")
    if "memory" in res.get("requests", {}) and "memory" in res.get("limits", {}):
        req, lim = mebibytes(res["requests"]["memory"]), mebibytes(res["limits"]["memory"])
        check(req >= BENCH_PEAK_RSS_MIB, f"{overlay}: memory request {req} MiB covers the bench's peak RSS ({BENCH_PEAK_RSS_MIB} MiB)")
        check(lim >= 2 * BENCH_PEAK_RSS_MIB and lim >= req, f"{overlay}: memory limit {lim} MiB leaves room above the peak")

    # Probes on the monitor's real endpoints, on the port the monitor listens on.
    ports = {p.get("name"): p for p in c.get("ports", [])}
    check(ports.get("monitor", {}).get("containerPort") == MONITOR_PORT, f"{overlay}: the monitor port is {MONITOR_PORT}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path, f"{overlay}: {probe} asks {path} ({get.get('path')})")
        port = get.get("port")
        check(port == "monitor" or port == MONITOR_PORT, f"{overlay}: {probe} asks the monitor port ({port})")
    ann = spec["template"]["metadata"].get("annotations", {})
    check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(MONITOR_PORT)
          and ann.get("prometheus.io/path") == "/metrics", f"{overlay}: Prometheus scrape annotations on the monitor")

    env = env_value(c, "NODE_NAME")
    check(env is not None and env.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
          f"{overlay}: NODE_NAME from the downward API")

    # Mounts: the logs read-only, the state read-write, each a hostPath of the same path.
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    for path in READ_ONLY_HOST_PATHS + [STATE_PATH]:
        m = mounts.get(path)
        if not check(m is not None, f"{overlay}: {path} is mounted"):
            continue
        v = volumes.get(m["name"], {})
        check(v.get("hostPath", {}).get("path") == path, f"{overlay}: {path} is the node's {path}")
        if path == STATE_PATH:
            check(not m.get("readOnly", False), f"{overlay}: {path} is writable")
            check(v["hostPath"].get("type") == "DirectoryOrCreate", f"{overlay}: {path} is created when missing")
        else:
            check(m.get("readOnly") is True, f"{overlay}: {path} is read-only")
    for path, m in mounts.items():
        check(path in READ_ONLY_HOST_PATHS + [STATE_PATH, "/etc/sluice"], f"{overlay}: no other mount ({path})")
    for path in READ_PATHS:
        under = [m for m in mounts if path == m or path.startswith(m.rstrip("/") + "/")]
        check(len(under) == 1 and mounts[under[0]].get("readOnly") is True, f"{overlay}: {path} is readable through a read-only mount ({under})")

    # The pipeline: the generated ConfigMap, mounted at /etc/sluice, holds the overlay's conf
    # (conf/kubernetes-<overlay>.conf), whose folders are the mounted ones.
    cm = one(objects, "ConfigMap")
    cfg = mounts.get("/etc/sluice")
    check(cfg is not None and cfg.get("readOnly") is True, f"{overlay}: /etc/sluice is mounted read-only")
    check(cfg is not None and volumes.get(cfg["name"], {}).get("configMap", {}).get("name") == cm["metadata"]["name"],
          f"{overlay}: /etc/sluice is the generated ConfigMap {cm['metadata']['name']}")
    with open(os.path.join(ROOT, "conf", f"kubernetes-{overlay}.conf")) as f:
        conf = f.read()
    check(cm.get("data", {}).get("sluice.conf") == conf, f"{overlay}: the ConfigMap holds conf/kubernetes-{overlay}.conf")
    state = set(re.findall(r"ENV\['SLUICE_STATE_DIR'\] \|\| '([^']*)'", conf))
    logs = set(re.findall(r"ENV\['SLUICE_CONTAINER_LOGS'\] \|\| '([^']*)'", conf))
    check(state == {STATE_PATH}, f"{overlay}: the conf keeps its state in {STATE_PATH} ({state})")
    check(logs == {"/var/log/containers"}, f"{overlay}: the conf reads /var/log/containers ({logs})")
    check(re.search(r"<monitor>[^<]*\bbind 0\.0\.0\.0", conf) is not None, f"{overlay}: the monitor listens on the pod's address")
    check(re.search(r"<monitor>[^<]*\n\s*port\b", conf) is None, f"{overlay}: the monitor keeps its default port")
    # Every variable the conf reads without a default comes from the container's env.
    for var in sorted(set(re.findall(r"ENV\['([A-Z0-9_]+)'\]\s*\}", conf))):
        check(env_value(c, var) is not None, f"{overlay}: the DaemonSet sets {var}, which the conf reads without a default")
    for e in c.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref is not None:
            check(ref.get("optional") is True, f"{overlay}: {e['name']} comes from an optional Secret (the DaemonSet starts without it)")


def check_podmonitor(overlay, objects):
    """The Prometheus Operator component: a PodMonitor on the DaemonSet's pods' monitor port."""
    pm = one(objects, "PodMonitor")
    ds = one(objects, "DaemonSet")
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    check(pm["metadata"].get("namespace") == ds["metadata"].get("namespace"), f"{overlay}+podmonitor: the PodMonitor is in sluice's namespace")
    check(pm["spec"]["selector"].get("matchLabels", {}).items() <= pod_labels.items() and pm["spec"]["selector"].get("matchLabels"),
          f"{overlay}+podmonitor: the PodMonitor selects the DaemonSet's pods")
    ports = {p.get("name"): p for p in ds["spec"]["template"]["spec"]["containers"][0].get("ports", [])}
    for ep in pm["spec"]["podMetricsEndpoints"]:
        check(ports.get(ep.get("port"), {}).get("containerPort") == MONITOR_PORT, f"{overlay}+podmonitor: it scrapes the monitor port ({ep.get('port')})")
        check(ep.get("path", "/metrics") == "/metrics", f"{overlay}+podmonitor: it scrapes /metrics")
    kinds = sorted(o["kind"] for o in objects)
    check(kinds.count("DaemonSet") == 1 and "PodMonitor" in kinds, f"{overlay}+podmonitor: the overlay's objects and the PodMonitor ({kinds})")


def manifests():
    need_tools()
    tmp = tempfile.mkdtemp(prefix="sluice-k8s-")
    try:
        base = os.path.join(KUBE, "base")
        files = [os.path.join(base, f) for f in sorted(os.listdir(base)) if f.endswith(".yaml") and f != "kustomization.yaml"]
        files.append(os.path.join(KUBE, "components", "podmonitor", "podmonitor.yaml"))
        status, out = validate(files)
        print(out, end="")
        check(status == 0, "the base manifests and the PodMonitor are valid against their schemas")
        for overlay in OVERLAYS:
            check_overlay(overlay, rendered_objects(overlay, tmp))
            check_podmonitor(overlay, rendered_objects(overlay, tmp, ["podmonitor"]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- run: the real sluice with what the DaemonSet gives it ---------------------------------

def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_for(what, fn, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)  # polling interval of a wait for a condition
    check(False, f"{what} (waited {timeout} s)")
    return None


def metric(text, name):
    m = re.search(rf"^{name}\{{[^}}]*\}} ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else None


def sandboxed(cmd, state, sc):
    """cmd as the container's security context runs it, where this machine allows: the root file
    system read-only but the state folder (a private mount namespace), no capability at all
    (empty bounding set: an exec as uid 0 gets none) and no_new_privs. Needs root; elsewhere
    cmd runs as it is, and the output says so."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("setpriv") is None:
        print("note: not root (or no unshare/setpriv): sluice runs without the read-only root and dropped capabilities", flush=True)
        return cmd
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        print("note: no mount namespace here: sluice runs without the read-only root and dropped capabilities", flush=True)
        return cmd
    check(sc.get("readOnlyRootFilesystem") is True and sc.get("capabilities", {}).get("drop") == ["ALL"]
          and sc.get("runAsUser") == 0, "the sandbox below is the container's security context")
    script = ('mount --make-rprivate / && mount --bind "$0" "$0" && mount -o remount,bind,ro / && '
              'exec setpriv --bounding-set=-all --inh-caps=-all --no-new-privs -- "$@"')
    print("sluice runs as uid 0 with no capability, the root file system read-only but its state folder", flush=True)
    return ["unshare", "-m", "sh", "-c", script, state] + cmd


def run_overlay(overlay, objects, sluice, standins, tmp):
    print(f"--- {overlay}: sluice with the DaemonSet's config and env", flush=True)
    ds = one(objects, "DaemonSet")
    c = ds["spec"]["template"]["spec"]["containers"][0]
    conf_path = os.path.join(tmp, "sluice.conf")
    with open(conf_path, "w") as f:
        f.write(one(objects, "ConfigMap")["data"]["sluice.conf"])
    logs = os.path.join(tmp, "var", "log", "containers")
    state = os.path.join(tmp, "var", "lib", "sluice")
    os.makedirs(logs)
    os.makedirs(state)
    cid = "0123456789abcdef" * 4
    app_log = f"app-7d9f_default_main-{cid}.log"
    with open(os.path.join(logs, app_log), "w") as f:
        f.write('2026-11-27T10:00:00.000000000Z stdout F {"level":"info","msg":"from the app"}\n')
    with open(os.path.join(logs, f"sluice-x1y2z_sluice_sluice-{cid}.log"), "w") as f:
        f.write("2026-11-27T10:00:00.000000000Z stderr F sluice's own log line\n")
    # As on a node: the logs 0640 in a 0750 folder, owned by whoever runs the test (root in CI).
    for name in os.listdir(logs):
        os.chmod(os.path.join(logs, name), 0o640)
    os.chmod(logs, 0o750)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "ELASTICSEARCH_", "LOKI_"))}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
    env["NODE_NAME"] = "test-node"
    env.update(SLUICE_MONITOR_PORT="0", SLUICE_STATE_DIR=state, SLUICE_CONTAINER_LOGS=logs)
    sp = None
    if overlay == "elasticsearch":
        sp = subprocess.Popen([standins, "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = sp.stdout.readline().split()
        check(ready[:1] == ["ready"], f"the stand-ins started ({ready})")
        env["ELASTICSEARCH_HOSTS"] = f"http://127.0.0.1:{ready[1]}"
    else:
        env["LOKI_URL"] = "http://127.0.0.1:9"  # nothing listens: the pipeline must still be ready

    def es_count():
        sp.stdin.write("count\n")
        sp.stdin.flush()
        return int(sp.stdout.readline().split()[1])

    err_path = os.path.join(tmp, "sluice.err")
    err = open(err_path, "w+")
    cmd = [sluice] + c["args"][:1] + [conf_path] + c["args"][2:]
    p = subprocess.Popen(sandboxed(cmd, state, c.get("securityContext", {})), env=env, stderr=err, stdout=subprocess.DEVNULL)
    try:
        def port():
            with open(err_path) as f:
                m = re.search(r"Monitor listening on http://0\.0\.0\.0:(\d+)", f.read())
            return int(m.group(1)) if m else None
        mport = wait_for("sluice's monitor listens on 0.0.0.0", port)
        if mport is None:
            return
        live = c["livenessProbe"]["httpGet"]["path"]
        ready_path = c["readinessProbe"]["httpGet"]["path"]
        status, body = http_get(mport, live)
        check(status == 200, f"{overlay}: liveness {live} answers 200 ({status} {body.strip()})")
        wait_for(f"{overlay}: readiness {ready_path} answers 200", lambda: http_get(mport, ready_path)[0] == 200)
        wait_for(f"{overlay}: the container's line is read",
                 lambda: (metric(http_get(mport, "/metrics")[1], "sluice_input_received_records_total") or 0) >= 1)
        grace = ds["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        started = time.monotonic()
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=grace)
            check(rc == 0, f"{overlay}: SIGTERM ends sluice with 0 (got {rc})")
            print(f"{overlay}: stopped in {time.monotonic() - started:.1f} s of {grace} s", flush=True)
        except subprocess.TimeoutExpired:
            check(False, f"{overlay}: sluice stops within terminationGracePeriodSeconds ({grace} s)")
        # The tail expands its globs before it reads a line, and its last pos_file write at the
        # stop records every file it followed: the app's, not sluice's own.
        pos = os.path.join(state, "containers.pos")
        if check(os.path.exists(pos), f"{overlay}: the pos_file is in the state folder"):
            with open(pos) as f:
                followed = sorted(os.path.basename(line.split("\t")[0]) for line in f if line.strip())
            check(followed == [app_log], f"{overlay}: the app's log is followed, sluice's own is not ({followed})")
        if sp is not None:
            check(es_count() == 1, f"{overlay}: the app's line reached Elasticsearch, and only it (flushed at the stop)")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if sp is not None:
            sp.stdin.write("quit\n")
            sp.stdin.flush()
            sp.wait(timeout=10)
        err.close()
        with open(err_path) as f:
            log = f.read()
        if failures:
            print(f"sluice's log:\n{log}")


def run(sluice, standins):
    need_tools()
    for overlay in OVERLAYS:
        tmp = tempfile.mkdtemp(prefix=f"sluice-k8s-{overlay}-")
        try:
            objects = rendered_objects(overlay, tmp)
            run_overlay(overlay, objects, sluice, standins, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["manifests", "run"])
    ap.add_argument("--sluice")
    ap.add_argument("--standins")
    a = ap.parse_args()
    if a.mode == "manifests":
        manifests()
    else:
        run(a.sluice, a.standins)
    if failures:
        print(f"{len(failures)} checks failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
