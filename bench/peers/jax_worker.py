#!/usr/bin/env python3
"""JAX peer worker: system `jax` (jax.jit on the CPU backend).

Each workload is one jitted function: the forward pass, or the whole
training step (forward, loss, gradient and the optimizer update, written in
jax.numpy with the same hyper-parameters as the other peers, so there is no
optax dependency). Parameters live on the device and are donated to the
training step; data arrive as numpy arrays in every run, as a user feeds
them. Every timed run ends in block_until_ready, since dispatch is
asynchronous; mlp_epoch blocks once at the end of the epoch, letting the
next batch's gather overlap the previous step as it would for a user.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import worker_common as wc  # noqa: E402

SYSTEMS = ("jax",)

jax = None
jnp = None
lax = None


def prepare(system, threads):
    global jax, jnp, lax
    # The PJRT CPU client sizes its intra-op (Eigen) thread pool from
    # PJRT_NPROC, falling back to every schedulable core; with one thread
    # XLA's Eigen multi-threading is turned off outright.
    os.environ["PJRT_NPROC"] = str(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax as _jax
    import jax.numpy as _jnp
    from jax import lax as _lax
    jax, jnp, lax = _jax, _jnp, _lax


def version():
    import jaxlib
    return f"jax {jax.__version__} / jaxlib {jaxlib.__version__}"


# --- models ----------------------------------------------------------------

def mlp_logits(p, x):
    h = jax.nn.relu(x @ p["w1"] + p["b1"])
    return h @ p["w2"] + p["b2"]


def cnn_logits(p, x):
    def block(h, w, b):
        h = lax.conv_general_dilated(h, w, window_strides=(1, 1), padding="SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
        h = jax.nn.relu(h + b)
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    h = block(x, p["w1"], p["b1"])
    h = block(h, p["w2"], p["b2"])
    h = h.reshape(h.shape[0], 3136)  # NHWC flatten: (h, w, c) order
    h = jax.nn.relu(h @ p["w3"] + p["b3"])
    return h @ p["w4"] + p["b4"]


def params(d, prefix):
    n = 2 if prefix == "mlp" else 4
    names = [f"{kind}{i}" for i in range(1, n + 1) for kind in ("w", "b")]
    # jnp.array copies: a donated training buffer must never alias the
    # worker's cached data, which later workloads start from.
    return {k: jnp.array(d[f"{prefix}_{k}"]) for k in names}


def loss_fn(logits_fn, p, x, y):
    logp = jax.nn.log_softmax(logits_fn(p, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


# --- optimizers, as the other peers define them ------------------------------

def adam(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    def init(p):
        # m and v need buffers of their own: both are donated to the step.
        return {"t": jnp.zeros((), jnp.int32), "m": jax.tree.map(jnp.zeros_like, p),
                "v": jax.tree.map(jnp.zeros_like, p)}

    def update(p, s, g):
        t = s["t"] + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, s["m"], g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, s["v"], g)
        tf = t.astype(jnp.float32)
        c1, c2 = 1 - b1 ** tf, 1 - b2 ** tf
        p = jax.tree.map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v)
        return p, {"t": t, "m": m, "v": v}

    return init, update


def momentum(lr=0.01, mu=0.9):
    def init(p):
        return jax.tree.map(jnp.zeros_like, p)

    def update(p, buf, g):
        buf = jax.tree.map(lambda b, g: mu * b + g, buf, g)
        return jax.tree.map(lambda p, b: p - lr * b, p, buf), buf

    return init, update


# --- workloads ----------------------------------------------------------------

def _forward(workload, d):
    """(jitted function, its arguments) of a forward-only workload."""
    if workload == "one_op":
        return jax.jit(lambda a, b: a + b), (np.float32(1.5), np.float32(2.25))
    if workload == "chain1000":
        def chain(x):
            for i in range(1000):
                x = x * 0.999 if i % 2 == 0 else x + 0.999
            return x
        return jax.jit(chain), (d["chain_x"],)
    if workload.startswith("matmul"):
        n = workload[len("matmul"):]
        # Captured: already on the device, like the other peers' variables.
        return jax.jit(lambda a, b: a @ b), (jnp.asarray(d["mm_a" + n]), jnp.asarray(d["mm_b" + n]))
    prefix, _, batch = workload.split("_")
    logits = mlp_logits if prefix == "mlp" else cnn_logits
    fn = jax.jit(lambda p, x: jax.nn.softmax(logits(p, x), axis=-1))
    return fn, (params(d, prefix), d[f"{prefix}_x_{batch}"])


def _training(workload, d):
    prefix = workload.split("_")[0]
    logits = mlp_logits if prefix == "mlp" else cnn_logits
    init, update = momentum() if prefix == "cnn" else adam()

    def step(p, s, x, y):
        loss, g = jax.value_and_grad(lambda p: loss_fn(logits, p, x, y))(p)
        p, s = update(p, s, g)
        return p, s, loss

    step = jax.jit(step, donate_argnums=(0, 1))
    p = params(d, prefix)
    state = [p, init(p)]

    def fed_step(x, y):
        state[0], state[1], loss = step(state[0], state[1], x, y)
        return loss

    if workload == "mlp_epoch":
        images, labels = wc.load_fashion_mnist()
        driver = wc.EpochDriver(images, labels)
        return lambda: jax.block_until_ready(driver.run(fed_step))
    x, y = d[f"{prefix}_x_{workload.rsplit('_', 1)[1]}"], d[f"{prefix}_y_{workload.rsplit('_', 1)[1]}"]
    return lambda: jax.block_until_ready(fed_step(x, y))


def build(system, workload, d, threads):
    if workload in wc.TRAINING:
        return wc.Built(run=_training(workload, d))
    fn, args = _forward(workload, d)

    def run():
        return fn(*args).block_until_ready()

    return wc.Built(run=run, output=lambda: np.asarray(run()))


if __name__ == "__main__":
    wc.serve(SYSTEMS, prepare, version, build)
