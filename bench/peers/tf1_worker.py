#!/usr/bin/env python3
"""TensorFlow 1.x-style peer worker: systems `tf1` and `tf1_xla`.

Graphs are built with tf.compat.v1 (eager execution off, placeholders,
Session.run with feed_dict, optimizer.minimize), one graph and session per
workload, with the default Grappler pipeline. Parameters are resource
variables initialised from the .npy files, so Grappler cannot fold them
away; each run feeds the data as numpy arrays of the graph's dtype and
fetches only what the workload needs (the output, or just the train op).

tf1_xla turns on XLA auto-clustering for the CPU: the session's
global_jit_level ON_1 plus TF_XLA_FLAGS (set before tensorflow is imported)
that extend it to the CPU device and allow single-op clusters. Grappler's
remapper is turned off for it: it runs before clustering and replaces
MatMul+BiasAdd+Relu, Conv2D+BiasAdd+Relu and the like with fused CPU-only
kernels XLA cannot compile, which would leave the clusters holding little
more than variable reads. TF compiles clusters lazily and falls back to the
plain graph when compilation fails, so after warming up every workload is
checked in a traced run: if no _XlaRun op executed, XLA is not what is being
measured and the workload is skipped; compute ops left outside the clusters
are listed on stderr.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import worker_common as wc  # noqa: E402

SYSTEMS = ("tf1", "tf1_xla")

# --tf_xla_cpu_global_jit: honour global_jit_level on the CPU device (by
# default auto-clustering only targets GPUs). --tf_xla_min_cluster_size=1:
# one_op and matmul are single ops, which the default minimum of 4 would
# leave unclustered, so tf1_xla would silently measure plain TF.
XLA_FLAGS = "--tf_xla_cpu_global_jit --tf_xla_min_cluster_size=1"
XLA_OPS = ("_XlaRun", "XlaLaunch")
# Plumbing around and between clusters; anything else left in the executed
# graph is computation XLA did not take.
NON_COMPUTE_OPS = {"_Arg", "_Retval", "_Send", "_Recv", "_XlaCompile", "_XlaMerge", "Switch",
                   "Identity", "StatefulPartitionedCall", "NoOp", "Const", "VarHandleOp"} | set(XLA_OPS)
XLA_CHECK_RUNS = 5

tf = None
rewriter_config_pb2 = None


def prepare(system, threads):
    global tf, rewriter_config_pb2
    if system == "tf1_xla":
        os.environ["TF_XLA_FLAGS"] = (os.environ.get("TF_XLA_FLAGS", "") + " " + XLA_FLAGS).strip()
    import tensorflow as _tf
    from tensorflow.core.protobuf import rewriter_config_pb2 as _rc
    tf, rewriter_config_pb2 = _tf, _rc
    tf.compat.v1.disable_eager_execution()


def version():
    return f"tensorflow {tf.__version__}"


def _session(system, threads, graph):
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads,
                                      inter_op_parallelism_threads=1)
    if system == "tf1_xla":
        config.graph_options.optimizer_options.global_jit_level = tf.compat.v1.OptimizerOptions.ON_1
        config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
    return tf.compat.v1.Session(graph=graph, config=config)


def _var(array, name):
    return tf.compat.v1.Variable(array, name=name, use_resource=True)


def _mlp_logits(d, x):
    w1, b1 = _var(d["mlp_w1"], "w1"), _var(d["mlp_b1"], "b1")
    w2, b2 = _var(d["mlp_w2"], "w2"), _var(d["mlp_b2"], "b2")
    return tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2


def _cnn_logits(d, x):
    def conv_block(h, w, b):
        h = tf.nn.relu(tf.nn.conv2d(h, w, strides=1, padding="SAME") + b)
        return tf.nn.max_pool2d(h, ksize=2, strides=2, padding="VALID")

    h = conv_block(x, _var(d["cnn_w1"], "w1"), _var(d["cnn_b1"], "b1"))
    h = conv_block(h, _var(d["cnn_w2"], "w2"), _var(d["cnn_b2"], "b2"))
    h = tf.reshape(h, [-1, 3136])  # NHWC flatten: (h, w, c) order
    h = tf.nn.relu(tf.matmul(h, _var(d["cnn_w3"], "w3")) + _var(d["cnn_b3"], "b3"))
    return tf.matmul(h, _var(d["cnn_w4"], "w4")) + _var(d["cnn_b4"], "b4")


def _loss(logits, y):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))


def _graph(workload, d):
    """Builds the workload into the default graph; returns (fetch, feeds)
    where feeds maps placeholders to the numpy arrays of one run, or to
    None for mlp_epoch, whose batches come from the epoch driver."""
    f32 = tf.float32
    ph = tf.compat.v1.placeholder
    if workload == "one_op":
        a, b = ph(f32, [], "a"), ph(f32, [], "b")
        return a + b, {a: np.float32(1.5), b: np.float32(2.25)}
    if workload == "chain1000":
        x = ph(f32, [16], "x")
        y = x
        for i in range(1000):
            y = y * 0.999 if i % 2 == 0 else y + 0.999
        return y, {x: d["chain_x"]}
    if workload.startswith("matmul"):
        n = workload[len("matmul"):]
        # Captured in variables: constants would be folded by Grappler.
        return tf.matmul(_var(d["mm_a" + n], "a"), _var(d["mm_b" + n], "b")), {}
    if workload.startswith("mlp_infer_"):
        xs = d["mlp_x_" + workload.rsplit("_", 1)[1]]
        x = ph(f32, [xs.shape[0], 784], "x")
        return tf.nn.softmax(_mlp_logits(d, x)), {x: xs}
    if workload.startswith("cnn_infer_"):
        xs = d["cnn_x_" + workload.rsplit("_", 1)[1]]
        x = ph(f32, [xs.shape[0], 28, 28, 1], "x")
        return tf.nn.softmax(_cnn_logits(d, x)), {x: xs}

    # Training: one optimizer step per run, fetching only the train op.
    if workload.startswith("cnn"):
        x, y = ph(f32, [64, 28, 28, 1], "x"), ph(tf.int32, [64], "y")
        loss = _loss(_cnn_logits(d, x), y)
        opt = tf.compat.v1.train.MomentumOptimizer(0.01, momentum=0.9, use_nesterov=False)
        return opt.minimize(loss), {x: d["cnn_x_b64"], y: d["cnn_y_b64"]}
    x, y = ph(f32, [128, 784], "x"), ph(tf.int32, [128], "y")
    loss = _loss(_mlp_logits(d, x), y)
    opt = tf.compat.v1.train.AdamOptimizer(1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8)
    if workload == "mlp_epoch":
        return opt.minimize(loss), {x: None, y: None}
    return opt.minimize(loss), {x: d["mlp_x_b128"], y: d["mlp_y_b128"]}


def _xla_check(sess, fetch, feed):
    """(XLA ops executed, ops outside clusters) in one traced run."""
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE,
                                      output_partition_graphs=True)
    meta = tf.compat.v1.RunMetadata()
    sess.run(fetch, feed, options=options, run_metadata=meta)
    # timeline_label reads "node = Op(inputs)".
    ran = sorted({n.node_name for dev in meta.step_stats.dev_stats for n in dev.node_stats
                  if n.timeline_label.partition(" = ")[2].split("(")[0] in XLA_OPS})
    outside = sorted({n.op for g in meta.partition_graphs for n in g.node} - NON_COMPUTE_OPS)
    return ran, outside


def build(system, workload, d, threads):
    graph = tf.Graph()
    with graph.as_default():
        fetch, feeds = _graph(workload, d)
        init = tf.compat.v1.global_variables_initializer()
    graph.finalize()
    sess = _session(system, threads, graph)
    sess.run(init)

    if workload == "mlp_epoch":
        (x, y) = feeds.keys()
        images, labels = wc.load_fashion_mnist()
        driver = wc.EpochDriver(images, labels)
        first = {x: images[:wc.EPOCH_BATCH], y: labels[:wc.EPOCH_BATCH]}

        def step(xb, yb):
            return sess.run(fetch, {x: xb, y: yb})

        run = lambda: driver.run(step)  # noqa: E731
        check_feed = first
    else:
        def run():
            return sess.run(fetch, feeds)

        check_feed = feeds

    if system == "tf1_xla":
        for _ in range(XLA_CHECK_RUNS):
            sess.run(fetch, check_feed)
        ran, outside = _xla_check(sess, fetch, check_feed)
        if not ran:
            raise wc.Skip("XLA auto-clustering formed or ran no cluster on the CPU for this workload")
        print(f"tf1_xla {workload}: {len(ran)} XLA cluster(s) ran; ops outside clusters: {outside}",
              file=sys.stderr)

    output = (lambda: run()) if workload in wc.INFERENCE else None
    return wc.Built(run=run, output=output)


if __name__ == "__main__":
    wc.serve(SYSTEMS, prepare, version, build)
