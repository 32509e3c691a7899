// Loss builders in the style of tf.losses (TensorFlow 1.x). Each returns a
// scalar Output: the per-element (or per-example) losses reduced like TF1's
// default SUM_BY_NONZERO_WEIGHTS, i.e. sum(weights * losses) divided by the
// number of non-zero weights (0 when there are none). Without weights this is
// the plain mean.
//
//   Output loss = losses::SparseSoftmaxCrossEntropy(root, labels, logits);
//
// `weights`, where a builder takes it, is optional (a null Output means
// none); it must be a scalar or have the losses' rank with each dim 1 or
// equal to the losses' dim, as in TF. Each builder puts its nodes under its
// own name scope ("mean_squared_error/...", made unique), and a bad shape or
// dtype is an InvalidArgument error recorded in `scope` that names both
// inputs; the result is then a null Output.
#ifndef SLUICE_GRAPH_LOSSES_H_
#define SLUICE_GRAPH_LOSSES_H_

#include <vector>

#include "graph/scope.h"

namespace sluice::losses {

// mean((predictions - labels)^2). labels and predictions have the same
// floating dtype and compatible shapes.
Output MeanSquaredError(const Scope& scope, Output labels, Output predictions,
                        Output weights = Output());

// mean(|predictions - labels|) (TF1's absolute_difference).
Output MeanAbsoluteError(const Scope& scope, Output labels, Output predictions,
                         Output weights = Output());

// Softmax cross-entropy of `logits` [batch, classes] against class indices
// `labels` [batch] (i32 or i64), averaged over the batch. `weights` weighs
// each example.
Output SparseSoftmaxCrossEntropy(const Scope& scope, Output labels, Output logits,
                                 Output weights = Output());

// Softmax cross-entropy of `logits` [batch, classes] against probabilities
// `onehot_labels` of the same shape and dtype, averaged over the batch. With
// label_smoothing s in [0, 1] the labels become labels * (1 - s) + s / classes.
Output SoftmaxCrossEntropy(const Scope& scope, Output onehot_labels, Output logits,
                           double label_smoothing = 0, Output weights = Output());

// Sigmoid cross-entropy of `logits` against `multi_class_labels` in [0, 1]
// (same shape and dtype), averaged over every element. Computed as
// max(x, 0) - x * z + log(1 + exp(-|x|)), which neither overflows nor loses
// precision for large |x|.
Output SigmoidCrossEntropy(const Scope& scope, Output multi_class_labels, Output logits,
                           Output weights = Output());

// sum(t^2) / 2 over every element of `t` (floating), as tf.nn.l2_loss.
Output L2Loss(const Scope& scope, Output t);

// scale * (L2Loss(w_0) + L2Loss(w_1) + ...), the usual weight-decay term.
// `weights` is non-empty and all of one floating dtype.
Output L2Penalty(const Scope& scope, const std::vector<Output>& weights, double scale);

}  // namespace sluice::losses

#endif  // SLUICE_GRAPH_LOSSES_H_
