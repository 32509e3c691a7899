#!/usr/bin/env python3
"""PyTorch peer worker: systems `torch` (eager) and `torch_compile`.

Protocol and timing live in worker_common; this file only builds each
workload. Models come from torch_models (shared with the ONNX Runtime
worker). Inference runs under torch.inference_mode. Training uses
torch.optim.Adam / SGD(momentum=0.9); eager takes their fused CPU kernels.

torch_compile compiles the inference module, and for training the whole
step function (zero_grad, forward, loss, backward, optimizer step) with the
default (Inductor) backend: Dynamo breaks the graph at zero_grad() and
backward(), compiles forward+loss together with its AOT-generated backward,
and traces the optimizer's step into a graph of its own. That last part
needs the plain optimizer implementation: Dynamo refuses to trace into the
fused one and would leave the update eager.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import worker_common as wc  # noqa: E402

SYSTEMS = ("torch", "torch_compile")

torch = None
F = None
tm = None


def prepare(system, threads):
    global torch, F, tm
    # Inductor compiles in a pool of worker processes that start in the
    # background and outlive the compile; on a small machine they would
    # steal cores from whichever system is being timed. Compiling in this
    # process keeps all of it inside setup.
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
    import torch as _torch
    import torch.nn.functional as _F
    import torch_models as _tm
    torch, F, tm = _torch, _F, _tm
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)


def version():
    return f"torch {torch.__version__}"


def _compile(fn):
    try:
        return torch.compile(fn)
    except Exception as exc:  # raised only for unsupported setups
        raise wc.Skip(f"torch.compile unavailable: {exc}") from exc


def _first_call_or_skip(fn, *args):
    """Compilation happens on the first call; a failure there means
    torch.compile cannot handle this workload on this machine."""
    try:
        return fn(*args)
    except Exception as exc:
        raise wc.Skip(f"torch.compile failed: {type(exc).__name__}: {exc}"[:500]) from exc


def _build_inference(system, workload, d):
    model, np_inputs = tm.inference_model(workload, d)
    model.eval()
    inputs = tuple(torch.from_numpy(x) for x in np_inputs)
    fn = model
    with torch.inference_mode():
        if system == "torch_compile":
            fn = _compile(model)
            _first_call_or_skip(fn, *inputs)

    def run():
        with torch.inference_mode():
            return fn(*inputs)

    return wc.Built(run=run, output=lambda: run().numpy())


def _train_step(system, model, optimizer):
    def step(x, y):
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return _compile(step) if system == "torch_compile" else step


def _optimizer(system, workload, model):
    params = model.parameters()
    fused = system == "torch"
    if workload.startswith("cnn"):
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=False, fused=fused)
    return torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, fused=fused)


def _build_training(system, workload, d):
    model = tm.Cnn(d) if workload.startswith("cnn") else tm.Mlp(d)
    model.train()
    step = _train_step(system, model, _optimizer(system, workload, model))

    if workload == "mlp_epoch":
        images, labels = wc.load_fashion_mnist()
        driver = wc.EpochDriver(images, labels)

        def fed_step(x, y):
            # Each batch arrives as numpy from the shuffled gather; wrapping
            # it is zero-copy, the labels need int64 for cross_entropy.
            return step(torch.from_numpy(x), torch.from_numpy(y).long())

        if system == "torch_compile":
            _first_call_or_skip(fed_step, images[:wc.EPOCH_BATCH], labels[:wc.EPOCH_BATCH])
        return wc.Built(run=lambda: driver.run(fed_step))

    prefix = workload.split("_")[0]
    batch = workload.rsplit("_", 1)[1]
    x = torch.from_numpy(d[f"{prefix}_x_{batch}"])
    y = torch.from_numpy(d[f"{prefix}_y_{batch}"]).long()
    if system == "torch_compile":
        _first_call_or_skip(step, x, y)
    return wc.Built(run=lambda: step(x, y))


def build(system, workload, d, threads):
    if workload in wc.INFERENCE:
        return _build_inference(system, workload, d)
    return _build_training(system, workload, d)


if __name__ == "__main__":
    wc.serve(SYSTEMS, prepare, version, build)
