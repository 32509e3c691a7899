#!/usr/bin/env python3
"""Runs the side-by-side workloads in Sluice and each peer and writes the
results (bench/WORKLOADS.md has the workloads and the worker protocol).

Every system is one long-lived worker process. For each workload every
worker sets it up (building, warming and compiling once), the inference
outputs are compared with Sluice's, and then the systems take turns: each
round times every system once, in an order rotated from round to round, so
slow drifts of a shared machine fall on all systems alike. The figures are
the medians of all samples.

Only the standard library is used: the orchestrator runs under any Python 3.
"""

import argparse
import datetime
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKLOADS = [
    "one_op", "chain1000", "mlp_train_b128", "mlp_infer_b1", "mlp_infer_b128",
    "cnn_train_b64", "cnn_infer_b1", "cnn_infer_b64", "matmul1024", "matmul2048",
    "mlp_epoch",
]
SYSTEMS = ["sluice", "onednn", "tf1", "tf1_xla", "torch", "torch_compile", "jax", "onnxruntime"]
# The ceiling of the matmul rows, not a peer: never the "best peer".
NOT_PEERS = {"sluice", "onednn"}
PEER_SCRIPTS = {
    "tf1": "tf1_worker.py", "tf1_xla": "tf1_worker.py",
    "torch": "torch_worker.py", "torch_compile": "torch_worker.py",
    "jax": "jax_worker.py", "onnxruntime": "ort_worker.py",
}
MATMUL_SIZES = {"matmul1024": 1024, "matmul2048": 2048}
# Sluice's median over the best peer's, at most.
TARGETS = {
    "one_op": 0.5, "chain1000": 0.5, "mlp_train_b128": 0.8, "cnn_train_b64": 0.8,
    "mlp_epoch": 0.8, "mlp_infer_b1": 1.0, "mlp_infer_b128": 1.0, "cnn_infer_b1": 1.0,
    "cnn_infer_b64": 1.0,
}
# Sluice's matmul speed as a fraction of oneDNN called directly, at least.
MATMUL_TARGET = 0.9
OUTPUT_TOLERANCE = 1e-4
NOTES = {"chain1000": "Sluice with the fusion pass off"}

SETUP_TIMEOUT_S = 900
TIME_TIMEOUT_S = 900


class Worker:
    """One system's worker process and its line protocol."""

    def __init__(self, system, command, log_path, env):
        self.system = system
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=env, cwd=ROOT)
        self.answers = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.answers.put(line)
        self.answers.put(None)

    def ask(self, command, timeout):
        """Sends one command; returns its answer as a dict."""
        if self.proc.poll() is not None:
            return {"ok": False, "error": f"worker exited with status {self.proc.returncode}"}
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"ok": False, "error": "worker exited"}
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            return {"ok": False, "error": f"no answer to '{command}' within {timeout} s"}
        if line is None:
            self.proc.wait()
            return {"ok": False,
                    "error": f"worker exited with status {self.proc.returncode} "
                             f"(log: {os.path.relpath(self.log.name, ROOT)})"}
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            return {"ok": False, "error": f"unreadable answer: {line.strip()[:200]}"}

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()


def worker_command(system, args):
    common = ["--system", system, "--threads", str(args.threads), "--data", args.data]
    if system in ("sluice", "onednn"):
        return [args.sluice_workload] + common
    return [args.python, os.path.join(ROOT, "bench", "peers", PEER_SCRIPTS[system])] + common


def machine_header(args, versions):
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": model,
        "cores": os.cpu_count(),
        "threads": args.threads,
        "rounds": args.rounds,
        "samples_per_round": args.reps,
        "sluice_commit": commit,
        "versions": versions,
    }


def compare_output(out_dir, workload, system):
    """max|system - sluice| / max|sluice| of the saved outputs, or an error."""
    import numpy as np  # only the inference rows need it
    ref_path = os.path.join(out_dir, f"{workload}.sluice.npy")
    path = os.path.join(out_dir, f"{workload}.{system}.npy")
    if not os.path.exists(ref_path):
        return None, "no Sluice output to compare with"
    if not os.path.exists(path):
        return None, "the worker saved no output"
    ref = np.load(ref_path).astype(np.float64)
    got = np.load(path).astype(np.float64)
    if got.shape != ref.shape:
        return None, f"output shape {got.shape} differs from Sluice's {ref.shape}"
    scale = max(float(np.max(np.abs(ref))), 1e-30)
    return float(np.max(np.abs(got - ref))) / scale, None


def run_workload(workload, workers, args, rows):
    out_dir = os.path.join(args.tmp, "outputs")
    os.makedirs(out_dir, exist_ok=True)
    ready = {}
    for system, worker in workers.items():
        if system == "onednn" and workload not in MATMUL_SIZES:
            continue  # the ceiling of the matmul rows only
        row = {"workload": workload, "system": system, "status": "ok"}
        rows.append(row)
        answer = worker.ask(f"setup {workload} {out_dir}", SETUP_TIMEOUT_S)
        if not answer.get("ok"):
            row.update(status="failed", error=answer.get("error", "setup failed"))
        elif "skip" in answer:
            row.update(status="skipped", error=answer["skip"])
        else:
            row["inner"] = answer["inner"]
            ready[system] = row
        print(f"  setup {workload:15s} {system:14s} {row['status']} {row.get('error', '')}",
              file=sys.stderr, flush=True)
    if workload.startswith(("mlp_infer", "cnn_infer")):
        for system, row in ready.items():
            if system == "sluice":
                continue
            diff, error = compare_output(out_dir, workload, system)
            if error is None:
                row["max_rel_diff"] = diff
                if diff > OUTPUT_TOLERANCE:
                    error = (f"output differs from Sluice's: max relative difference {diff:.3g} "
                             f"> {OUTPUT_TOLERANCE}")
            if error is not None:
                row.update(status="failed", error=error)
    timed = [s for s, row in ready.items() if row["status"] == "ok"]
    samples = {s: [] for s in timed}
    round_medians = {s: [] for s in timed}
    for r in range(args.rounds):
        order = timed[r % len(timed):] + timed[:r % len(timed)] if timed else []
        for system in order:
            if ready[system]["status"] != "ok":
                continue
            answer = workers[system].ask(f"time {workload} {args.reps}", TIME_TIMEOUT_S)
            if not answer.get("ok"):
                ready[system].update(status="failed", error=answer.get("error", "time failed"))
                continue
            samples[system].extend(answer["times_ms"])
            round_medians[system].append(statistics.median(answer["times_ms"]))
            # Let the last system's spinning threads go idle before the next.
            time.sleep(0.2)
    for system in timed:
        row = ready[system]
        if row["status"] != "ok" or not samples[system]:
            continue
        times = samples[system]
        # Round by round too: a transient load on the machine shows up as
        # one round out of line.
        row.update(median_ms=statistics.median(times), min_ms=min(times), max_ms=max(times),
                   samples=len(times), round_medians_ms=round_medians[system])
        if workload in MATMUL_SIZES:
            n = MATMUL_SIZES[workload]
            row["gflops"] = 2.0 * n ** 3 / (row["median_ms"] * 1e-3) / 1e9
    for system in timed:
        row = ready[system]
        if "median_ms" in row:
            print(f"  time  {workload:15s} {system:14s} median {row['median_ms']:.4g} ms",
                  file=sys.stderr, flush=True)


def summarise(rows):
    """Per workload: Sluice against the best peer, and the target."""
    summary = []
    for workload in dict.fromkeys(r["workload"] for r in rows):
        these = {r["system"]: r for r in rows if r["workload"] == workload}
        sluice = these.get("sluice", {})
        entry = {"workload": workload, "sluice_ms": sluice.get("median_ms")}
        peers = [r for s, r in these.items()
                 if s not in NOT_PEERS and r["status"] == "ok" and "median_ms" in r]
        if peers:
            best = min(peers, key=lambda r: r["median_ms"])
            entry.update(best_peer=best["system"], best_peer_ms=best["median_ms"])
            if entry["sluice_ms"] is not None:
                entry["ratio"] = entry["sluice_ms"] / best["median_ms"]
        if workload in TARGETS:
            entry["target"] = f"<= {TARGETS[workload]} x best peer"
            if "ratio" in entry:
                entry["met"] = entry["ratio"] <= TARGETS[workload]
        if workload in MATMUL_SIZES:
            direct = these.get("onednn", {})
            if entry["sluice_ms"] is not None and "median_ms" in direct:
                entry["fraction_of_onednn"] = direct["median_ms"] / entry["sluice_ms"]
                entry["target"] = f">= {MATMUL_TARGET} of oneDNN called directly"
                entry["met"] = entry["fraction_of_onednn"] >= MATMUL_TARGET
        summary.append(entry)
    return summary


def fmt_ms(ms):
    if ms is None:
        return "-"
    return f"{ms * 1e3:.1f} us" if ms < 1 else f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"


def write_markdown(path, header, rows, summary):
    lines = [
        "# Sluice side by side",
        "",
        f"{header['date']}; {header['cpu_model']}, {header['cores']} cores; "
        f"{header['threads']} threads for every system; medians of "
        f"{header['rounds']} rounds x {header['samples_per_round']} samples, systems "
        f"alternating; Sluice at {header['sluice_commit']}.",
        "",
        "Versions: " + "; ".join(f"{s}: {v}" for s, v in header["versions"].items()) + ".",
        "",
        "## Sluice against the best peer",
        "",
        "| workload | Sluice | best peer | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for e in summary:
        ratio = e.get("ratio")
        if "fraction_of_onednn" in e:
            ratio_text = (f"{ratio:.2f}; {e['fraction_of_onednn']:.2f} of oneDNN"
                          if ratio is not None else f"{e['fraction_of_onednn']:.2f} of oneDNN")
        else:
            ratio_text = f"{ratio:.2f}" if ratio is not None else "-"
        best = f"{e['best_peer']} {fmt_ms(e['best_peer_ms'])}" if "best_peer" in e else "-"
        met = {True: "yes", False: "**no**"}.get(e.get("met"), "-")
        note = f" ({NOTES[e['workload']]})" if e["workload"] in NOTES else ""
        lines.append(f"| {e['workload']}{note} | {fmt_ms(e['sluice_ms'])} | {best} | "
                     f"{ratio_text} | {e.get('target', '-')} | {met} |")
    lines += ["", "## Every row", "",
              "| workload | system | median | min - max | Sluice / system | notes |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        sluice = next((x for x in rows if x["workload"] == r["workload"]
                       and x["system"] == "sluice" and "median_ms" in x), None)
        if r["status"] != "ok" or "median_ms" not in r:
            status = "**failed**" if r["status"] == "failed" else r["status"]
            lines.append(f"| {r['workload']} | {r['system']} | {status} | | | "
                         f"{r.get('error', '')} |")
            continue
        ratio = f"{sluice['median_ms'] / r['median_ms']:.2f}" if sluice else "-"
        notes = []
        if "gflops" in r:
            notes.append(f"{r['gflops']:.0f} GFLOP/s")
        if "max_rel_diff" in r:
            notes.append(f"output within {r['max_rel_diff']:.1e} of Sluice's")
        lines.append(f"| {r['workload']} | {r['system']} | {fmt_ms(r['median_ms'])} | "
                     f"{fmt_ms(r['min_ms'])} - {fmt_ms(r['max_ms'])} | {ratio} | "
                     f"{'; '.join(notes)} |")
    lines += ["", "Reproduce: `bench/run.sh` (see bench/README.md).", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3, help="samples per system per round")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--python", default=os.path.join(ROOT, "bench", ".venv", "bin", "python"))
    parser.add_argument("--sluice-workload", default=os.path.join(ROOT, "build", "bin",
                                                                  "sluice_workload"))
    parser.add_argument("--tmp", default=os.path.join(ROOT, "bench", "results", "tmp"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "latest"),
                        help="writes OUT.json and OUT.md")
    args = parser.parse_args()
    args.data = os.path.join(args.tmp, "data")
    workloads = [w for w in args.workloads.split(",") if w]
    systems = [s for s in args.systems.split(",") if s]
    for name, known, kind in ((workloads, WORKLOADS, "workload"), (systems, SYSTEMS, "system")):
        unknown = [n for n in name if n not in known]
        if unknown:
            parser.error(f"unknown {kind} {', '.join(unknown)} (known: {', '.join(known)})")
    if "sluice" not in systems:
        parser.error("the systems must include sluice: every ratio is against it")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")

    os.makedirs(os.path.join(args.tmp, "logs"), exist_ok=True)
    subprocess.run([args.python, os.path.join(ROOT, "bench", "peers", "make_data.py"),
                    "--out", args.data], check=True)
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(args.threads)
    workers, versions, rows = {}, {}, []
    for system in systems:
        worker = Worker(system, worker_command(system, args),
                        os.path.join(args.tmp, "logs", f"{system}.log"), env)
        info = worker.ask("info", SETUP_TIMEOUT_S)
        if not info.get("ok"):
            print(f"{system}: {info.get('error')}", file=sys.stderr)
            worker.close()
            continue
        versions[system] = info["version"]
        workers[system] = worker
    try:
        for workload in workloads:
            print(f"{workload}:", file=sys.stderr, flush=True)
            run_workload(workload, workers, args, rows)
    finally:
        for worker in workers.values():
            worker.close()

    header = machine_header(args, versions)
    summary = summarise(rows)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"header": header, "rows": rows, "summary": summary}, f, indent=1)
    write_markdown(args.out + ".md", header, rows, summary)
    print(f"wrote {os.path.relpath(args.out, ROOT)}.json and .md", file=sys.stderr)


if __name__ == "__main__":
    main()
