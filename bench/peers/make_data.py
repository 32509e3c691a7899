#!/usr/bin/env python3
"""Writes the weights and inputs every system of the side-by-side benchmark
loads (the Data table of bench/WORKLOADS.md), so all of them start from the
same numbers.

All draws come from one np.random.default_rng(0) in the order of the table
below; changing that order changes every file after the change, so append
new files at the end.
"""

import argparse
import os

import numpy as np


def glorot(rng, shape, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def dense(rng, n_in, n_out):
    return glorot(rng, (n_in, n_out), n_in, n_out)


def conv_hwio(rng, kh, kw, c_in, c_out):
    # Keras' convention: the receptive field counts on both sides.
    return glorot(rng, (kh, kw, c_in, c_out), kh * kw * c_in, kh * kw * c_out)


def bias(n):
    return np.full((n,), 0.01, dtype=np.float32)


def inputs(rng, shape):
    return rng.random(shape, dtype=np.float32)


def labels(rng, n):
    return rng.integers(0, 10, size=(n,), dtype=np.int32)


def generate(matmul4096=False):
    """Yields (name, array) in the fixed draw order; the 4096 matrices (the
    GPU rows' matmul4096, 128 MiB) last and only when asked for."""
    rng = np.random.default_rng(0)
    yield "chain_x", inputs(rng, (16,))

    yield "mlp_w1", dense(rng, 784, 256)
    yield "mlp_b1", bias(256)
    yield "mlp_w2", dense(rng, 256, 10)
    yield "mlp_b2", bias(10)
    yield "mlp_x_b1", inputs(rng, (1, 784))
    yield "mlp_x_b128", inputs(rng, (128, 784))
    yield "mlp_y_b128", labels(rng, 128)

    yield "cnn_w1", conv_hwio(rng, 5, 5, 1, 32)
    yield "cnn_b1", bias(32)
    yield "cnn_w2", conv_hwio(rng, 5, 5, 32, 64)
    yield "cnn_b2", bias(64)
    yield "cnn_w3", dense(rng, 3136, 1024)
    yield "cnn_b3", bias(1024)
    yield "cnn_w4", dense(rng, 1024, 10)
    yield "cnn_b4", bias(10)
    yield "cnn_x_b1", inputs(rng, (1, 28, 28, 1))
    yield "cnn_x_b64", inputs(rng, (64, 28, 28, 1))
    yield "cnn_y_b64", labels(rng, 64)

    yield "mm_a1024", inputs(rng, (1024, 1024))
    yield "mm_b1024", inputs(rng, (1024, 1024))
    yield "mm_a2048", inputs(rng, (2048, 2048))
    yield "mm_b2048", inputs(rng, (2048, 2048))

    if matmul4096:
        yield "mm_a4096", inputs(rng, (4096, 4096))
        yield "mm_b4096", inputs(rng, (4096, 4096))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory to write the .npy files to")
    parser.add_argument("--matmul4096", action="store_true",
                        help="also write mm_a4096 and mm_b4096 (the GPU rows' matmul4096)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, array in generate(args.matmul4096):
        # Explicit little-endian dtypes so the files read the same everywhere.
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        np.save(os.path.join(args.out, name + ".npy"), np.ascontiguousarray(array))


if __name__ == "__main__":
    main()
