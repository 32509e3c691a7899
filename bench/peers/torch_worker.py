#!/usr/bin/env python3
"""PyTorch peer worker: systems `torch` (eager) and `torch_compile` on the
CPU, and `torch_cuda` (eager on the GPU).

Protocol and timing live in worker_common; this file only builds each
workload. Models come from torch_models (shared with the ONNX Runtime
worker). Inference runs under torch.inference_mode. Training uses
torch.optim.Adam / SGD(momentum=0.9); eager (CPU and CUDA) takes their fused
kernels.

torch_compile compiles the inference module, and for training the whole
step function (zero_grad, forward, loss, backward, optimizer step) with the
default (Inductor) backend: Dynamo breaks the graph at zero_grad() and
backward(), compiles forward+loss together with its AOT-generated backward,
and traces the optimizer's step into a graph of its own. That last part
needs the plain optimizer implementation: Dynamo refuses to trace into the
fused one and would leave the update eager.

torch_cuda is eager on device "cuda" with TF32 off (matmul and cuDNN), as
Sluice computes in plain f32. As Sluice's feeds and fetches, a run starts
from the inputs on the host and copies them over, and an inference run
brings its output back; the matmul rows keep operands and product on the
device (as cuBLAS called directly). Every run ends with
torch.cuda.synchronize(), so its time is the GPU's work, not its queueing.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import worker_common as wc  # noqa: E402

SYSTEMS = ("torch", "torch_compile", "torch_cuda")

torch = None
F = None
tm = None
# Where the system's tensors live: "cpu" or "cuda".
DEVICE = "cpu"


def prepare(system, threads):
    global torch, F, tm, DEVICE
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
    if system == "torch_cuda":
        DEVICE = "cuda"
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def describe(system):
    """The system's device and, when it cannot run here, why."""
    if system != "torch_cuda":
        return "cpu", None
    if not torch.cuda.is_available():
        built = torch.version.cuda
        return "cuda", ("torch.cuda.is_available() is False" +
                        (f" (torch built for CUDA {built})" if built else
                         " (this torch build has no CUDA)"))
    return "cuda", None


def _synchronize():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def version():
    if DEVICE == "cuda" and torch.cuda.is_available():
        return (f"torch {torch.__version__} on CUDA {torch.version.cuda}, "
                f"{torch.cuda.get_device_name(0)}")
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
    model.eval().to(DEVICE)
    host_inputs = tuple(torch.from_numpy(x) for x in np_inputs)
    fn = model
    with torch.inference_mode():
        if system == "torch_compile":
            fn = _compile(model)
            _first_call_or_skip(fn, *host_inputs)

    if DEVICE == "cpu":
        def run():
            with torch.inference_mode():
                return fn(*host_inputs)

        return wc.Built(run=run, output=lambda: run().numpy())

    if workload.startswith("matmul"):
        # Operands and product stay on the device.
        device_inputs = tuple(x.to(DEVICE) for x in host_inputs)

        def run():
            with torch.inference_mode():
                out = fn(*device_inputs)
            _synchronize()
            return out
    else:
        def run():
            with torch.inference_mode():
                out = fn(*(x.to(DEVICE) for x in host_inputs)).cpu()
            _synchronize()
            return out

    return wc.Built(run=run, output=lambda: run().cpu().numpy())


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
    # Eager takes the fused kernels (CPU and CUDA); Dynamo needs the plain ones.
    fused = system != "torch_compile"
    if workload.startswith("cnn"):
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=False, fused=fused)
    return torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, fused=fused)


def _build_training(system, workload, d):
    model = tm.Cnn(d) if workload.startswith("cnn") else tm.Mlp(d)
    model.train().to(DEVICE)
    step = _train_step(system, model, _optimizer(system, workload, model))

    if workload == "mlp_epoch":
        images, labels = wc.load_fashion_mnist()
        driver = wc.EpochDriver(images, labels)

        def fed_step(x, y):
            # Each batch arrives as numpy from the shuffled gather; wrapping
            # it is zero-copy, the labels need int64 for cross_entropy.
            return step(torch.from_numpy(x).to(DEVICE), torch.from_numpy(y).to(DEVICE).long())

        if system == "torch_compile":
            _first_call_or_skip(fed_step, images[:wc.EPOCH_BATCH], labels[:wc.EPOCH_BATCH])

        def run_epoch():
            result = driver.run(fed_step)
            _synchronize()
            return result

        return wc.Built(run=run_epoch)

    prefix = workload.split("_")[0]
    batch = workload.rsplit("_", 1)[1]
    x = torch.from_numpy(d[f"{prefix}_x_{batch}"])
    y = torch.from_numpy(d[f"{prefix}_y_{batch}"]).long()
    if system == "torch_compile":
        _first_call_or_skip(step, x, y)
    if DEVICE == "cpu":
        return wc.Built(run=lambda: step(x, y))

    def run_step():
        # From the host, as Sluice's feeds.
        loss = step(x.to(DEVICE), y.to(DEVICE))
        _synchronize()
        return loss

    return wc.Built(run=run_step)


def build(system, workload, d, threads):
    if workload in wc.INFERENCE:
        return _build_inference(system, workload, d)
    return _build_training(system, workload, d)


if __name__ == "__main__":
    wc.serve(SYSTEMS, prepare, version, build, describe)
