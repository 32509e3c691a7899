"""The workloads as torch.nn.Modules, loaded from make_data.py's files.

Shared by the torch worker (eager and torch.compile) and the ONNX Runtime
worker (which exports these very modules), so both peers run the same code.
Importing this module imports torch: workers do it only once their stdout
has been taken over.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _param(array):
    # A copy: from_numpy would share the worker's cached data array, and a
    # training workload's in-place updates would then change the weights
    # every later workload starts from.
    return nn.Parameter(torch.from_numpy(np.array(array, dtype=np.float32, copy=True)))


def _linear(w_in_out, b):
    # nn.Linear keeps its weight as [out, in]; the files hold [in, out].
    layer = nn.Linear(w_in_out.shape[0], w_in_out.shape[1])
    with torch.no_grad():
        layer.weight = _param(w_in_out.T)
        layer.bias = _param(b)
    return layer


def _conv_same5x5(w_hwio, b):
    # HWIO -> OIHW; padding 2 is SAME for a 5x5 kernel at stride 1.
    layer = nn.Conv2d(w_hwio.shape[2], w_hwio.shape[3], kernel_size=5, padding=2)
    with torch.no_grad():
        layer.weight = _param(w_hwio.transpose(3, 2, 0, 1))
        layer.bias = _param(b)
    return layer


class OneOp(nn.Module):
    def forward(self, a, b):
        return a + b


class Chain1000(nn.Module):
    def forward(self, x):
        for i in range(1000):
            x = x * 0.999 if i % 2 == 0 else x + 0.999
        return x


class MatMul(nn.Module):
    def forward(self, a, b):
        return a @ b


class Mlp(nn.Module):
    """784 -> 256 (ReLU) -> 10; returns logits."""

    def __init__(self, d):
        super().__init__()
        self.fc1 = _linear(d["mlp_w1"], d["mlp_b1"])
        self.fc2 = _linear(d["mlp_w2"], d["mlp_b2"])

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class Cnn(nn.Module):
    """Takes NHWC input like every other system and returns logits.

    Computes in NCHW: the permute below is a free view for the single input
    channel, and w3's rows are reordered from (h, w, c) to (c, h, w) at load
    so that flattening NCHW gives the same function as flattening NHWC."""

    def __init__(self, d):
        super().__init__()
        self.conv1 = _conv_same5x5(d["cnn_w1"], d["cnn_b1"])
        self.conv2 = _conv_same5x5(d["cnn_w2"], d["cnn_b2"])
        w3 = d["cnn_w3"].reshape(7, 7, 64, 1024).transpose(2, 0, 1, 3).reshape(3136, 1024)
        self.fc3 = _linear(w3, d["cnn_b3"])
        self.fc4 = _linear(d["cnn_w4"], d["cnn_b4"])

    def forward(self, x_nhwc):
        x = x_nhwc.permute(0, 3, 1, 2)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc4(F.relu(self.fc3(x)))


class Probabilities(nn.Module):
    """Softmax over a logits module: the inference output."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return F.softmax(self.logits(x), dim=-1)


def inference_model(workload, d):
    """(module, numpy inputs) of a forward-only workload."""
    if workload == "one_op":
        return OneOp(), (np.array(1.5, np.float32), np.array(2.25, np.float32))
    if workload == "chain1000":
        return Chain1000(), (d["chain_x"],)
    if workload.startswith("matmul"):
        n = workload[len("matmul"):]
        return MatMul(), (d["mm_a" + n], d["mm_b" + n])
    if workload.startswith("mlp_infer_"):
        return Probabilities(Mlp(d)), (d["mlp_x_" + workload.rsplit("_", 1)[1]],)
    if workload.startswith("cnn_infer_"):
        return Probabilities(Cnn(d)), (d["cnn_x_" + workload.rsplit("_", 1)[1]],)
    raise ValueError(f"{workload} is not a forward-only workload")
