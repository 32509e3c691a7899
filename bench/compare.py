#!/usr/bin/env python3
"""Runs the side-by-side workloads in Sluice and each peer and writes the
results (bench/WORKLOADS.md has the workloads and the worker protocol).

Every system is one long-lived worker process. For each workload every
worker sets it up (building, warming and compiling once), the inference
outputs are compared with Sluice's, and then the systems take turns: each
round times every system once, in an order rotated from round to round, so
slow drifts of a shared machine fall on all systems alike. The figures are
the medians of all samples.

When a GPU is usable (the Sluice worker's `info` says whether, and why
not), a second section runs the GPU systems the same way: Sluice on CUDA
(`sluice_cuda`) against PyTorch eager on CUDA (`torch_cuda`), and on the
matmul rows against cuBLAS called directly (`cublas`). Their inference
outputs are checked against Sluice's CPU output, and their matmul products
against cuBLAS's.

Only the standard library is used: the orchestrator runs under any Python 3.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import queue
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The CPU rows' default workloads; matmul4096 (137 GFLOP a run) is a GPU row.
WORKLOADS = [
    "one_op", "chain1000", "mlp_train_b128", "mlp_infer_b1", "mlp_infer_b128",
    "cnn_train_b64", "cnn_infer_b1", "cnn_infer_b64", "matmul1024", "matmul2048",
    "mlp_epoch",
]
GPU_WORKLOADS = WORKLOADS + ["matmul4096"]
KNOWN_WORKLOADS = GPU_WORKLOADS
CPU_SYSTEMS = ["sluice", "onednn", "tf1", "tf1_xla", "torch", "torch_compile", "jax",
               "onnxruntime"]
GPU_SYSTEMS = ["sluice_cuda", "torch_cuda", "cublas"]
SYSTEMS = CPU_SYSTEMS + GPU_SYSTEMS
# Each device's Sluice, whose row every other row of that device is compared
# with.
SLUICE_ON = {"cpu": "sluice", "cuda": "sluice_cuda"}
# The matmul rows' ceilings (the library Sluice calls, called directly): run
# on the matmul rows only, never a "best peer".
CEILINGS = {"onednn": "cpu", "cublas": "cuda"}
NOT_PEERS = set(SLUICE_ON.values()) | set(CEILINGS)
PEER_SCRIPTS = {
    "tf1": "tf1_worker.py", "tf1_xla": "tf1_worker.py",
    "torch": "torch_worker.py", "torch_compile": "torch_worker.py",
    "torch_cuda": "torch_worker.py",
    "jax": "jax_worker.py", "onnxruntime": "ort_worker.py",
}
SLUICE_WORKER_SYSTEMS = {"sluice", "onednn", "sluice_cuda", "cublas"}
MATMUL_SIZES = {"matmul1024": 1024, "matmul2048": 2048, "matmul4096": 4096}
# Sluice's median over the best peer's, at most.
TARGETS = {
    "one_op": 0.5, "chain1000": 0.5, "mlp_train_b128": 0.8, "cnn_train_b64": 0.8,
    "mlp_epoch": 0.8, "mlp_infer_b1": 1.0, "mlp_infer_b128": 1.0, "cnn_infer_b1": 1.0,
    "cnn_infer_b64": 1.0,
}
# Sluice's matmul speed as a fraction of oneDNN called directly, at least.
MATMUL_TARGET = 0.9
# GPU rows: sluice_cuda's median over torch_cuda's, at most.
GPU_TARGETS = {"mlp_train_b128": 1.0, "cnn_train_b64": 1.0}
# GPU matmul rows: sluice_cuda's median over cuBLAS called directly's, at most.
CUBLAS_TARGETS = {"matmul4096": 1.1}
OUTPUT_TOLERANCE = {"cpu": 1e-4, "cuda": 1e-3}
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
        self.info = {}  # the answer to `info`, once asked
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
    if system in SLUICE_WORKER_SYSTEMS:
        return [args.sluice_workload] + common
    return [args.python, os.path.join(ROOT, "bench", "peers", PEER_SCRIPTS[system])] + common


def machine_header(args, versions, gpu):
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
        # {"name": ...} when the GPU rows ran, else {"skipped": why}.
        "gpu": gpu,
    }


def compare_output(out_dir, workload, system, reference="sluice"):
    """max|system - reference| / max|reference| of the saved outputs, or an
    error."""
    import numpy as np  # only the checked rows need it
    ref_path = os.path.join(out_dir, f"{workload}.{reference}.npy")
    path = os.path.join(out_dir, f"{workload}.{system}.npy")
    if not os.path.exists(ref_path):
        return None, f"no {reference} output to compare with"
    if not os.path.exists(path):
        return None, "the worker saved no output"
    ref = np.load(ref_path).astype(np.float64)
    got = np.load(path).astype(np.float64)
    if got.shape != ref.shape:
        return None, f"output shape {got.shape} differs from {reference}'s {ref.shape}"
    scale = max(float(np.max(np.abs(ref))), 1e-30)
    return float(np.max(np.abs(got - ref))) / scale, None


def is_inference_row(workload):
    return workload.startswith(("mlp_infer", "cnn_infer"))


def run_workload(workload, workers, args, rows, device, sluice_worker):
    """Sets up, checks and times `workload` in `workers` (the systems of one
    device), appending a row per system. `sluice_worker` (the CPU Sluice)
    provides the reference output of GPU inference rows."""
    out_dir = os.path.join(args.tmp, "outputs")
    os.makedirs(out_dir, exist_ok=True)
    ready = {}
    for system, worker in workers.items():
        if system in CEILINGS and workload not in MATMUL_SIZES:
            continue  # the ceiling of the matmul rows only
        row = {"workload": workload, "device": device, "system": system, "status": "ok"}
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
    # What each row's output is checked against: Sluice's CPU output for the
    # inference rows; on the GPU, cuBLAS's product for the matmul rows.
    reference = None
    if is_inference_row(workload):
        reference = "sluice"
        ref_path = os.path.join(out_dir, f"{workload}.sluice.npy")
        if device != "cpu" and not os.path.exists(ref_path):
            # The CPU section did not run this workload: its setup saves it.
            answer = sluice_worker.ask(f"setup {workload} {out_dir}", SETUP_TIMEOUT_S)
            if not answer.get("ok"):
                print(f"  Sluice's CPU reference for {workload}: {answer.get('error')}",
                      file=sys.stderr, flush=True)
    elif device == "cuda" and workload in MATMUL_SIZES and "cublas" in ready:
        reference = "cublas"
    if reference is not None:
        tolerance = OUTPUT_TOLERANCE[device]
        for system, row in ready.items():
            if system == reference:
                continue
            diff, error = compare_output(out_dir, workload, system, reference)
            if error is None:
                row["max_rel_diff"] = diff
                row["checked_against"] = reference
                if diff > tolerance:
                    error = (f"output differs from {reference}'s: max relative difference "
                             f"{diff:.3g} > {tolerance}")
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
    """Per device and workload: that device's Sluice against the best peer on
    the same device, against the matmul rows' ceiling, and the target."""
    summary = []
    for device, workload in dict.fromkeys((r["device"], r["workload"]) for r in rows):
        these = {r["system"]: r for r in rows
                 if r["workload"] == workload and r["device"] == device}
        sluice = these.get(SLUICE_ON[device], {})
        entry = {"workload": workload, "device": device, "sluice_ms": sluice.get("median_ms")}
        peers = [r for s, r in these.items()
                 if s not in NOT_PEERS and r["status"] == "ok" and "median_ms" in r]
        if peers:
            best = min(peers, key=lambda r: r["median_ms"])
            entry.update(best_peer=best["system"], best_peer_ms=best["median_ms"])
            if entry["sluice_ms"] is not None:
                entry["ratio"] = entry["sluice_ms"] / best["median_ms"]
        targets = TARGETS if device == "cpu" else GPU_TARGETS
        if workload in targets:
            entry["target"] = f"<= {targets[workload]} x best peer"
            if "ratio" in entry:
                entry["met"] = entry["ratio"] <= targets[workload]
        if workload in MATMUL_SIZES and device == "cpu":
            direct = these.get("onednn", {})
            if entry["sluice_ms"] is not None and "median_ms" in direct:
                entry["fraction_of_onednn"] = direct["median_ms"] / entry["sluice_ms"]
                entry["target"] = f">= {MATMUL_TARGET} of oneDNN called directly"
                entry["met"] = entry["fraction_of_onednn"] >= MATMUL_TARGET
        if workload in MATMUL_SIZES and device == "cuda":
            direct = these.get("cublas", {})
            if entry["sluice_ms"] is not None and "median_ms" in direct:
                entry["cublas_ms"] = direct["median_ms"]
                entry["ratio_to_cublas"] = entry["sluice_ms"] / direct["median_ms"]
                if workload in CUBLAS_TARGETS:
                    entry["target"] = f"<= {CUBLAS_TARGETS[workload]} x cuBLAS called directly"
                    entry["met"] = entry["ratio_to_cublas"] <= CUBLAS_TARGETS[workload]
        summary.append(entry)
    return summary


def fmt_ms(ms):
    if ms is None:
        return "-"
    return f"{ms * 1e3:.1f} us" if ms < 1 else f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"


def met_text(entry):
    return {True: "yes", False: "**no**"}.get(entry.get("met"), "-")


def write_markdown(path, header, rows, summary):
    gpu = header.get("gpu") or {}
    gpu_text = (f"GPU: {gpu['name']}." if "name" in gpu
                else f"GPU rows skipped: {gpu['skipped']}." if "skipped" in gpu else "")
    lines = [
        "# Sluice side by side",
        "",
        f"{header['date']}; {header['cpu_model']}, {header['cores']} cores; "
        f"{header['threads']} threads for every system; medians of "
        f"{header['rounds']} rounds x {header['samples_per_round']} samples, systems "
        f"alternating; Sluice at {header['sluice_commit']}. {gpu_text}".rstrip(),
        "",
        "Versions: " + "; ".join(f"{s}: {v}" for s, v in header["versions"].items()) + ".",
        "",
        "## Sluice against the best peer",
        "",
        "| workload | Sluice | best peer | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for e in (e for e in summary if e["device"] == "cpu"):
        ratio = e.get("ratio")
        if "fraction_of_onednn" in e:
            ratio_text = (f"{ratio:.2f}; {e['fraction_of_onednn']:.2f} of oneDNN"
                          if ratio is not None else f"{e['fraction_of_onednn']:.2f} of oneDNN")
        else:
            ratio_text = f"{ratio:.2f}" if ratio is not None else "-"
        best = f"{e['best_peer']} {fmt_ms(e['best_peer_ms'])}" if "best_peer" in e else "-"
        note = f" ({NOTES[e['workload']]})" if e["workload"] in NOTES else ""
        lines.append(f"| {e['workload']}{note} | {fmt_ms(e['sluice_ms'])} | {best} | "
                     f"{ratio_text} | {e.get('target', '-')} | {met_text(e)} |")
    gpu_entries = [e for e in summary if e["device"] == "cuda"]
    if gpu_entries:
        lines += ["", "## On the GPU: Sluice on CUDA against PyTorch on CUDA and cuBLAS", "",
                  "Ratios are Sluice's median over the other's (below 1: Sluice is faster). "
                  "The matmul rows keep operands and product in device memory.", "",
                  "| workload | Sluice (sluice_cuda) | best peer | ratio | cuBLAS | "
                  "Sluice / cuBLAS | target | met |",
                  "|---|---|---|---|---|---|---|---|"]
        for e in gpu_entries:
            best = f"{e['best_peer']} {fmt_ms(e['best_peer_ms'])}" if "best_peer" in e else "-"
            ratio = f"{e['ratio']:.2f}" if "ratio" in e else "-"
            cublas = fmt_ms(e["cublas_ms"]) if "cublas_ms" in e else "-"
            to_cublas = f"{e['ratio_to_cublas']:.2f}" if "ratio_to_cublas" in e else "-"
            note = f" ({NOTES[e['workload']]})" if e["workload"] in NOTES else ""
            lines.append(f"| {e['workload']}{note} | {fmt_ms(e['sluice_ms'])} | {best} | "
                         f"{ratio} | {cublas} | {to_cublas} | {e.get('target', '-')} | "
                         f"{met_text(e)} |")
    lines += ["", "## Every row", "",
              "| workload | device | system | median | min - max | Sluice / system | notes |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        sluice = next((x for x in rows if x["workload"] == r["workload"]
                       and x["device"] == r["device"]
                       and x["system"] == SLUICE_ON[r["device"]] and "median_ms" in x), None)
        if r["status"] != "ok" or "median_ms" not in r:
            status = "**failed**" if r["status"] == "failed" else r["status"]
            lines.append(f"| {r['workload']} | {r['device']} | {r['system']} | {status} | | | "
                         f"{r.get('error', '')} |")
            continue
        ratio = f"{sluice['median_ms'] / r['median_ms']:.2f}" if sluice else "-"
        notes = []
        if "gflops" in r:
            notes.append(f"{r['gflops']:.0f} GFLOP/s")
        if "max_rel_diff" in r:
            checked = r.get("checked_against", "sluice")
            whose = "Sluice's (CPU)" if checked == "sluice" else f"{checked}'s"
            notes.append(f"output within {r['max_rel_diff']:.1e} of {whose}")
        lines.append(f"| {r['workload']} | {r['device']} | {r['system']} | "
                     f"{fmt_ms(r['median_ms'])} | {fmt_ms(r['min_ms'])} - {fmt_ms(r['max_ms'])} | "
                     f"{ratio} | {'; '.join(notes)} |")
    lines += ["", "Reproduce: `bench/run.sh` (see bench/README.md).", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def nvidia_smi_sees_gpu():
    """Whether `nvidia-smi -L` succeeds and lists a GPU."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listed.returncode == 0 and "GPU" in listed.stdout


def gpu_unavailable_reason(sluice_info):
    """None when Sluice can use a GPU here (its worker's `info` says so),
    else why not."""
    cuda = (sluice_info.get("systems") or {}).get("sluice_cuda")
    if cuda is None:
        reason = "the Sluice worker reports no sluice_cuda system"
    elif cuda.get("available"):
        return None
    else:
        reason = cuda.get("reason", "sluice_cuda is unavailable")
    if nvidia_smi_sees_gpu():
        reason += ("; nvidia-smi -L lists a GPU, so Sluice was built without its CUDA layer "
                   "or cannot reach the driver (docs/devices.md)")
    return reason


def start_workers(systems, args, env, versions):
    """Starts each system's worker and asks its `info`. Returns the workers
    that can run here and, for the others, why not."""
    workers, unavailable = {}, {}
    for system in systems:
        worker = Worker(system, worker_command(system, args),
                        os.path.join(args.tmp, "logs", f"{system}.log"), env)
        info = worker.ask("info", SETUP_TIMEOUT_S)
        if not info.get("ok"):
            print(f"{system}: {info.get('error')}", file=sys.stderr)
            worker.close()
            continue
        if info.get("available") is False:
            unavailable[system] = info.get("reason", "unavailable")
            print(f"{system}: unavailable: {unavailable[system]}", file=sys.stderr)
            worker.close()
            continue
        versions[system] = info["version"]
        worker.info = info
        workers[system] = worker
    return workers, unavailable


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3, help="samples per system per round")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="the CPU rows (matmul4096 only when named)")
    parser.add_argument("--gpu-workloads", default=",".join(GPU_WORKLOADS),
                        help="the GPU rows, run when a GPU is usable")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help=f"CPU systems and GPU systems ({', '.join(GPU_SYSTEMS)})")
    parser.add_argument("--gpu", choices=("auto", "on", "off"), default="auto",
                        help="the GPU rows: when a GPU is usable (auto), required (on), or never")
    parser.add_argument("--python", default=os.path.join(ROOT, "bench", ".venv", "bin", "python"))
    parser.add_argument("--sluice-workload", default=os.path.join(ROOT, "build", "bin",
                                                                  "sluice_workload"))
    parser.add_argument("--tmp", default=os.path.join(ROOT, "bench", "results", "tmp"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "latest"),
                        help="writes OUT.json and OUT.md")
    args = parser.parse_args()
    args.data = os.path.join(args.tmp, "data")
    workloads = [w for w in args.workloads.split(",") if w]
    gpu_workloads = [w for w in args.gpu_workloads.split(",") if w]
    systems = [s for s in args.systems.split(",") if s]
    for name, known, kind in ((workloads, KNOWN_WORKLOADS, "workload"),
                              (gpu_workloads, KNOWN_WORKLOADS, "GPU workload"),
                              (systems, SYSTEMS, "system")):
        unknown = [n for n in name if n not in known]
        if unknown:
            parser.error(f"unknown {kind} {', '.join(unknown)} (known: {', '.join(known)})")
    if "sluice" not in systems:
        parser.error("the systems must include sluice: every ratio is against it")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")

    os.makedirs(os.path.join(args.tmp, "logs"), exist_ok=True)
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(args.threads)
    versions, rows = {}, []
    workers, _ = start_workers([s for s in systems if s in CPU_SYSTEMS], args, env, versions)
    if "sluice" not in workers:
        for worker in workers.values():
            worker.close()
        sys.exit("compare.py: the Sluice worker did not start (see its log under "
                 f"{os.path.relpath(os.path.join(args.tmp, 'logs'), ROOT)})")

    # The GPU rows: when Sluice can use a GPU here and sluice_cuda is asked for.
    requested_gpu = [s for s in systems if s in GPU_SYSTEMS]
    if args.gpu == "off":
        gpu_skipped = "--gpu off"
    elif "sluice_cuda" not in requested_gpu or not gpu_workloads:
        gpu_skipped = "no sluice_cuda in --systems or no --gpu-workloads"
    else:
        gpu_skipped = gpu_unavailable_reason(workers["sluice"].info)
    if gpu_skipped is not None and args.gpu == "on":
        for worker in workers.values():
            worker.close()
        sys.exit(f"compare.py: --gpu on, but the GPU rows cannot run: {gpu_skipped}")
    if gpu_skipped is not None:
        print(f"GPU rows skipped: {gpu_skipped}", file=sys.stderr, flush=True)

    gpu_workers, unavailable, gpu = {}, {}, {"skipped": gpu_skipped}
    try:
        make_data = [args.python, os.path.join(ROOT, "bench", "peers", "make_data.py"),
                     "--out", args.data]
        if "matmul4096" in workloads or (gpu_skipped is None and "matmul4096" in gpu_workloads):
            make_data.append("--matmul4096")
        subprocess.run(make_data, check=True)
        if gpu_skipped is None:
            gpu_workers, unavailable = start_workers(requested_gpu, args, env, versions)
            if "sluice_cuda" in gpu_workers:
                gpu = {"name": gpu_workers["sluice_cuda"].info.get("gpu", "unknown")}
            else:
                gpu = {"skipped": unavailable.get("sluice_cuda", "sluice_cuda did not start")}
                print(f"GPU rows skipped: {gpu['skipped']}", file=sys.stderr, flush=True)
                for worker in gpu_workers.values():
                    worker.close()
                gpu_workers, unavailable = {}, {}
        for workload in workloads:
            print(f"{workload}:", file=sys.stderr, flush=True)
            run_workload(workload, workers, args, rows, "cpu", workers["sluice"])
        for workload in gpu_workloads if gpu_workers else []:
            print(f"{workload} on the GPU:", file=sys.stderr, flush=True)
            run_workload(workload, gpu_workers, args, rows, "cuda", workers["sluice"])
            # A GPU peer that cannot run here (torch without CUDA) is a
            # skipped row, not a silent gap.
            for system, reason in unavailable.items():
                if system not in CEILINGS or workload in MATMUL_SIZES:
                    rows.append({"workload": workload, "device": "cuda", "system": system,
                                 "status": "skipped", "error": f"unavailable: {reason}"})
    finally:
        for worker in list(workers.values()) + list(gpu_workers.values()):
            worker.close()

    header = machine_header(args, versions, gpu)
    summary = summarise(rows)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"header": header, "rows": rows, "summary": summary}, f, indent=1)
    write_markdown(args.out + ".md", header, rows, summary)
    print(f"wrote {os.path.relpath(args.out, ROOT)}.json and .md", file=sys.stderr)


if __name__ == "__main__":
    main()
