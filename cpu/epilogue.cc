#include "cpu/epilogue.h"

#include <cstring>

#include "cpu/onednn.h"

namespace sluice::cpu {

using dnnl::algorithm;

// The post-ops of `e` after the bias, which the primitive adds itself.
dnnl::primitive_attr EpilogueAttr(const Epilogue& e) {
  dnnl::post_ops ops;
  if (e.add) ops.append_sum(1.0f);
  switch (e.activation) {
    case Activation::kNone: break;
    case Activation::kRelu: ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f); break;
    case Activation::kRelu6: ops.append_eltwise(1.0f, algorithm::eltwise_clip, 0.0f, 6.0f); break;
    case Activation::kElu: ops.append_eltwise(1.0f, algorithm::eltwise_elu, 1.0f, 0.0f); break;
    case Activation::kSigmoid:
      ops.append_eltwise(1.0f, algorithm::eltwise_logistic, 0.0f, 0.0f);
      break;
    case Activation::kTanh: ops.append_eltwise(1.0f, algorithm::eltwise_tanh, 0.0f, 0.0f); break;
    case Activation::kLeakyRelu:
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, e.alpha, 0.0f);
      break;
  }
  dnnl::primitive_attr attr = UserScratchpad();
  attr.set_post_ops(ops);
  return attr;
}

// Copies the residual into the output, where the sum post-op reads it.
void PrepareResidual(const Epilogue& e, const KernelContext& ctx, int residual_input) {
  if (!e.add) return;
  const Tensor& r = ctx.input(residual_input);
  Tensor& y = ctx.output(0);
  if (r.raw_data() != y.raw_data()) std::memcpy(y.raw_data(), r.raw_data(), y.num_bytes());
}

}  // namespace sluice::cpu
