#!/usr/bin/env python3
"""ONNX Runtime peer worker: system `onnxruntime`, forward-only workloads.

Each model is the torch worker's own module (torch_models), exported with
torch.onnx.export (the torch.export-based exporter, which needs onnxscript)
to a temporary directory and loaded into an InferenceSession on the
CPUExecutionProvider with every graph optimisation on. Weights become
initializers; the data inputs (including matmul's two matrices, which
constant folding would otherwise evaluate at load) stay graph inputs and are
fed as numpy arrays in every run.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import worker_common as wc  # noqa: E402

SYSTEMS = ("onnxruntime",)

ort = None
torch = None
tm = None


def prepare(system, threads):
    global ort, torch, tm
    import onnxruntime as _ort
    import torch as _torch
    import torch_models as _tm
    ort, torch, tm = _ort, _torch, _tm


def version():
    return f"onnxruntime {ort.__version__}"


def _export(model, inputs, path):
    names = [f"in{i}" for i in range(len(inputs))]
    with torch.no_grad():
        torch.onnx.export(model, tuple(torch.from_numpy(x) for x in inputs),
                          path, input_names=names, output_names=["out"], dynamo=True)
    return names


def _session(path, threads):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def build(system, workload, d, threads):
    if workload not in wc.INFERENCE:
        raise wc.Skip("ONNX Runtime peer: inference only")
    model, inputs = tm.inference_model(workload, d)
    model.eval()
    # The session holds the whole model (external weight files included)
    # once created, so the export directory can go.
    with tempfile.TemporaryDirectory(prefix="ort_worker_") as tmp:
        path = os.path.join(tmp, f"{workload}.onnx")
        names = _export(model, inputs, path)
        sess = _session(path, threads)
    feeds = dict(zip(names, inputs))

    def run():
        return sess.run(["out"], feeds)[0]

    return wc.Built(run=run, output=run)


if __name__ == "__main__":
    wc.serve(SYSTEMS, prepare, version, build)
