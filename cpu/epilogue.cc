#include "cpu/epilogue.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpu/onednn.h"

namespace sluice::cpu {

using dnnl::algorithm;

absl::StatusOr<Epilogue> ParseEpilogue(const KernelInit& init) {
  const std::vector<std::string>& ops = init.attr("fused_ops").strings();
  Epilogue e;
  e.alpha = init.attr("leakyrelu_alpha").f();
  size_t i = 0;
  if (ops.empty() || ops[0] != "BiasAdd") {
    return absl::UnimplementedError("fused_ops must start with BiasAdd");
  }
  ++i;
  if (i < ops.size() && ops[i] == "Add") {
    e.add = true;
    ++i;
  }
  if (i < ops.size()) {
    const std::string& a = ops[i++];
    if (a == "Relu") e.activation = Activation::kRelu;
    else if (a == "Relu6") e.activation = Activation::kRelu6;
    else if (a == "Elu") e.activation = Activation::kElu;
    else if (a == "Sigmoid") e.activation = Activation::kSigmoid;
    else if (a == "Tanh") e.activation = Activation::kTanh;
    else if (a == "LeakyRelu") e.activation = Activation::kLeakyRelu;
    else return absl::UnimplementedError(absl::StrCat("unsupported fused activation ", a));
  }
  if (i != ops.size()) return absl::UnimplementedError("unsupported fused_ops");
  return e;
}

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
