"""What every Python peer worker shares: the protocol loop of
bench/WORKLOADS.md, warm-up, calibration and timing, saving outputs, the
data files and the Fashion-MNIST epoch driver.

A worker module supplies a `prepare(system, threads)` hook (set environment
variables and import its framework: it runs after stdout is taken over, so
import-time chatter cannot corrupt answers), a `version()` string and a
`build(system, workload, data, threads)` that returns a `Built`; a worker
with GPU systems also supplies `describe(system)`, which returns the
system's device ("cpu" or "cuda") and, when it cannot run here, why.
"""

import argparse
import gc
import gzip
import json
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

INFERENCE = ("one_op", "chain1000", "mlp_infer_b1", "mlp_infer_b128",
             "cnn_infer_b1", "cnn_infer_b64", "matmul1024", "matmul2048", "matmul4096")
TRAINING = ("mlp_train_b128", "cnn_train_b64", "mlp_epoch")
WORKLOADS = INFERENCE + TRAINING

# A timed sample must last at least this long; calibration aims a bit above
# so that run-to-run noise rarely pushes a sample below it.
MIN_SAMPLE_S = 0.020
CALIBRATION_TARGET_S = 0.025
# Warm-up: at least this many runs after the first (which may compile), and
# at least this much time spent in them, so caches, allocators and lazy
# recompilations have settled before calibration.
WARM_RUNS = 3
WARM_TIME_S = 0.25
WARM_RUNS_CAP = 100_000

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
EPOCH_BATCH = 128


class Skip(Exception):
    """Raised by a build when the system cannot run the workload; the
    message becomes the `skip` reason."""


@dataclass
class Built:
    """A set-up workload. `run` performs one complete run (blocking until
    the result exists: on the host, or for a GPU system's matmul rows in
    device memory after synchronising the device); `output`, for forward-only workloads,
    returns the result of one run on the data inputs."""
    run: Callable[[], object]
    output: Optional[Callable[[], np.ndarray]] = None


class Data:
    """The .npy files of make_data.py, loaded on first use."""

    def __init__(self, directory):
        self.directory = directory
        self._cache = {}

    def __getitem__(self, name):
        if name not in self._cache:
            self._cache[name] = np.load(os.path.join(self.directory, name + ".npy"))
        return self._cache[name]


# --- Fashion-MNIST ---------------------------------------------------------

def _read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    # IDX header: two zero bytes, a type code (0x08 = ubyte), the number of
    # dimensions, then each dimension as a big-endian int32.
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(tuple(int(d) for d in dims))


def load_fashion_mnist(directory=FASHION_MNIST_DIR):
    """The 60,000 training images as f32 [60000, 784] in [0, 1] and their
    labels as int32 [60000]."""
    images = _read_idx(os.path.join(directory, "train-images-idx3-ubyte.gz"))
    labels = _read_idx(os.path.join(directory, "train-labels-idx1-ubyte.gz"))
    images = images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(images), labels.astype(np.int32)


class EpochDriver:
    """One epoch as every mlp_epoch implementation runs it: a fresh
    shuffle, then each full batch gathered from the shuffled order and
    handed to `step(x, y)` as numpy arrays (the remainder is dropped)."""

    def __init__(self, images, labels, batch=EPOCH_BATCH, seed=0):
        self.images = images
        self.labels = labels
        self.batch = batch
        self.rng = np.random.default_rng(seed)

    @property
    def steps(self):
        return self.images.shape[0] // self.batch

    def run(self, step):
        order = self.rng.permutation(self.images.shape[0])
        b = self.batch
        result = None
        for i in range(self.steps):
            idx = order[i * b:(i + 1) * b]
            result = step(self.images[idx], self.labels[idx])
        return result


# --- warm-up, calibration, timing ------------------------------------------

def _warm_up(run):
    run()  # may trace / compile; not counted towards the warm time
    start = time.perf_counter()
    n = 0
    while n < WARM_RUNS or (time.perf_counter() - start < WARM_TIME_S and n < WARM_RUNS_CAP):
        run()
        n += 1


def _sample(run, inner):
    t0 = time.perf_counter()
    for _ in range(inner):
        run()
    return time.perf_counter() - t0


def _calibrate(run):
    inner = 1
    while True:
        elapsed = _sample(run, inner)
        if elapsed >= MIN_SAMPLE_S:
            return inner
        # Jump near the target in one step, but at least double.
        inner = max(2 * inner, math.ceil(inner * CALIBRATION_TARGET_S / max(elapsed, 1e-9)))


# --- protocol ---------------------------------------------------------------

class _Answers:
    """Answers go to a private duplicate of fd 1; fd 1 itself (and Python's
    sys.stdout) then points at stderr, so whatever frameworks print, from
    Python or from C++, can never interleave with the JSON lines."""

    def __init__(self):
        fd = os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        self._out = os.fdopen(fd, "w", buffering=1)

    def send(self, obj):
        self._out.write(json.dumps(obj) + "\n")
        self._out.flush()


def _error(exc):
    traceback.print_exc(file=sys.stderr)
    return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}


def _cpu_only(system):
    return "cpu", None


def serve(systems, prepare, version, build, describe=_cpu_only):
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", required=True, choices=systems)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()

    answers = _Answers()
    prepare(args.system, args.threads)
    data = Data(args.data)
    built = {}

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd = words[0]
        if cmd == "quit":
            break
        try:
            device, unavailable = describe(args.system)
            if cmd == "info":
                answer = {"ok": True, "system": args.system, "version": version(),
                          "device": device, "available": unavailable is None}
                if unavailable is not None:
                    answer["reason"] = unavailable
            elif cmd == "setup" and len(words) == 3 and unavailable is not None:
                answer = {"ok": False,
                          "error": f"UNAVAILABLE: {args.system} cannot run here: {unavailable}"}
            elif cmd == "setup" and len(words) == 3:
                answer = _setup(args, data, build, built, words[1], words[2])
            elif cmd == "time" and len(words) == 3:
                answer = _time(built, words[1], int(words[2]))
            else:
                answer = {"ok": False, "error": f"bad command: {line.strip()!r}"}
        except Exception as exc:  # keep serving whatever went wrong
            answer = _error(exc)
        answers.send(answer)
    sys.exit(0)


def _setup(args, data, build, built, workload, outdir):
    if workload not in WORKLOADS:
        return {"ok": False, "error": f"unknown workload {workload}"}
    built.pop(workload, None)
    gc.collect()
    try:
        b = build(args.system, workload, data, args.threads)
        _warm_up(b.run)
        inner = _calibrate(b.run)
        if b.output is not None:
            os.makedirs(outdir, exist_ok=True)
            out = np.asarray(b.output(), dtype=np.float32)
            np.save(os.path.join(outdir, f"{workload}.{args.system}.npy"), out)
    except Skip as s:
        return {"ok": True, "skip": str(s)}
    built[workload] = (b, inner)
    return {"ok": True, "inner": inner}


def _time(built, workload, reps):
    if workload not in built:
        return {"ok": False, "error": f"{workload} is not set up"}
    b, inner = built[workload]
    # Start every series from a collected heap so earlier garbage does not
    # land in this workload's samples.
    gc.collect()
    times = [_sample(b.run, inner) * 1000.0 / inner for _ in range(reps)]
    return {"ok": True, "times_ms": times}
