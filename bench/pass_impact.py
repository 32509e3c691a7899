#!/usr/bin/env python3
"""What each optimisation pass is worth on the bench models: runs
sluice_bench's model benchmarks with the whole pipeline on, off, and on
with one pass off, all interleaved in one process, and prints for each
model and batch the median time with everything on and the ratio of every
other variant to it. A ratio above 1 means turning that pass off makes the
model slower, i.e. the pass helps; below 1 it hurts.

    bench/pass_impact.py [--repetitions 9] [--bench build/bin/sluice_bench] [--device cuda]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSES = ["constant-folding", "cse", "simplify", "fusion", "layout"]  # as kAblatedPasses


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", default=os.path.join(ROOT, "build", "bin", "sluice_bench"))
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument("--filter", default="BM_(Mlp|Cnn)(Train|Infer)",
                        help="which models (a regular expression over benchmark names)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                        help="where the sessions run (sluice_bench --device)")
    args = parser.parse_args()
    out = subprocess.run(
        [args.bench, f"--device={args.device}", f"--benchmark_filter={args.filter}",
         "--benchmark_enable_random_interleaving=true",
         f"--benchmark_repetitions={args.repetitions}", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    samples = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        m = re.match(r"BM_(\w+?)(Without)?/batch:(\d+)/(pipeline|pass):(\d+)", b["name"])
        if not m:
            continue
        model, without, batch, _, value = m.groups()
        variant = f"without {PASSES[int(value)]}" if without else (
            "all on" if value == "1" else "pipeline off")
        samples.setdefault((model, int(batch)), {}).setdefault(variant, []).append(b["real_time"])
    variants = ["pipeline off"] + [f"without {p}" for p in PASSES]
    print("| model | batch | all on (us) | " + " | ".join(variants) + " |")
    print("|---|---|---|" + "---|" * len(variants))
    for (model, batch), by_variant in sorted(samples.items()):
        if "all on" not in by_variant:
            continue
        base = statistics.median(by_variant["all on"])
        cells = []
        for v in variants:
            cells.append(f"{statistics.median(by_variant[v]) / base:.2f}"
                         if v in by_variant else "-")
        print(f"| {model} | {batch} | {base:.0f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
