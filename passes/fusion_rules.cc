#include "passes/fusion_rules.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "graph/ops/fused.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

bool IsF32(const Node& n) { return n.num_outputs() > 0 && n.output_dtype(0) == DType::kF32; }

// Whether the last node of a pattern can be replaced: its output 0 is all
// that is used or fetched, it is no target, and it has no control edges
// (which would have to move to the replacement).
bool IsReplaceable(const Node& node, const PassContext& context) {
  if (!node.control_inputs().empty() || !node.control_outputs().empty()) return false;
  if (std::find(context.targets.begin(), context.targets.end(), &node) != context.targets.end()) {
    return false;
  }
  for (const InputRef& e : node.out_edges()) {
    if (e.node->input(e.index).index != 0) return false;
  }
  for (const Output& f : context.fetches) {
    if (f.node == &node && f.index != 0) return false;
  }
  return true;
}

// The input of `consumer` that reads `producer` (which feeds it once).
int InputIndexOf(const Node& consumer, const Node* producer) {
  for (int i = 0; i < consumer.num_inputs(); ++i) {
    if (consumer.input(i).node == producer) return i;
  }
  return -1;
}

// A name for the node replacing `last`, next to it in the name scope.
std::string FusedName(Graph& graph, const Node& last) {
  return graph.UniqueName(absl::StrCat(last.name(), "/fused"));
}

absl::StatusOr<Node*> AddConst(Graph& graph, absl::string_view base, Tensor value,
                               const std::string& device) {
  NodeSpec spec;
  spec.name = graph.UniqueName(base);
  spec.op = "Const";
  const DType dtype = value.dtype();
  spec.attrs = {{"value", std::move(value)}, {"dtype", dtype}};
  spec.device = device;
  return graph.AddNode(std::move(spec));
}

absl::StatusOr<Node*> AddSimple(Graph& graph, absl::string_view base, absl::string_view op,
                                std::vector<Output> inputs, const std::string& device,
                                AttrMap attrs = {}) {
  NodeSpec spec;
  spec.name = graph.UniqueName(base);
  spec.op = std::string(op);
  spec.inputs = std::move(inputs);
  spec.attrs = std::move(attrs);
  spec.device = device;
  return graph.AddNode(std::move(spec));
}

// Weights and a bias that compute an affine op followed by an inference
// batch norm: w * s and (bias - mean) * s + offset, s = scale / sqrt(variance
// + epsilon), per channel of the weights' last dimension (a conv filter's
// output channel in HWIO, a MatMul's output column).
struct FoldedAffine {
  Output weights;
  Output bias;
};

// `bn` is the FusedBatchNorm (is_training=false); `bias` may be invalid (no
// bias before the batch norm). When every input is a constant the folded
// values are computed here and become constants, so no later pass is needed;
// otherwise they are nodes reading the current values, so they follow
// variable updates.
absl::StatusOr<FoldedAffine> FoldBatchNorm(Graph& graph, const Node& bn, const Output& weights,
                                           const Output& bias, const std::string& base,
                                           const std::string& device) {
  const float epsilon = bn.attr("epsilon").f();
  const Output scale = bn.input(1), offset = bn.input(2), mean = bn.input(3),
               variance = bn.input(4);
  Output new_weights, new_bias;
  std::vector<Output> known = {weights, scale, offset, mean, variance};
  if (bias.valid()) known.push_back(bias);
  const bool all_known = std::all_of(known.begin(), known.end(), [](const Output& o) {
    return o.node->output_value(o.index) != nullptr;
  });
  if (all_known) {
    // Constants: fold here, so no later pass is needed for it.
    auto value = [](const Output& o) { return o.node->output_value(o.index)->data<float>(); };
    const Tensor& w = *weights.node->output_value(weights.index);
    const int64_t channels = weights.shape().dim(weights.shape().rank() - 1);
    std::vector<float> s(channels);
    Tensor b(DType::kF32, Shape{channels});
    for (int64_t c = 0; c < channels; ++c) {
      s[c] = value(scale)[c] / std::sqrt(value(variance)[c] + epsilon);
      const float pre = bias.valid() ? value(bias)[c] : 0.0f;
      b.data<float>()[c] = (pre - value(mean)[c]) * s[c] + value(offset)[c];
    }
    Tensor folded(DType::kF32, weights.shape());
    const float* src = w.data<float>();
    float* dst = folded.data<float>();
    for (int64_t i = 0; i < folded.num_elements(); ++i) dst[i] = src[i] * s[i % channels];
    ASSIGN_OR_RETURN(Node * f, AddConst(graph, base + "/folded_weights", std::move(folded), device));
    ASSIGN_OR_RETURN(Node * bb, AddConst(graph, base + "/folded_bias", std::move(b), device));
    new_weights = Output(f);
    new_bias = Output(bb);
  } else {
    // s = scale * rsqrt(variance + epsilon); the weights' last dim is the
    // channel, so w * s broadcasts per channel.
    ASSIGN_OR_RETURN(Node * eps, AddConst(graph, base + "/epsilon", Tensor::Scalar(epsilon),
                                          device));
    ASSIGN_OR_RETURN(Node * ve, AddSimple(graph, base + "/variance_eps", "Add",
                                          {variance, Output(eps)}, device));
    ASSIGN_OR_RETURN(Node * rs, AddSimple(graph, base + "/rsqrt", "Rsqrt", {Output(ve)}, device));
    ASSIGN_OR_RETURN(Node * s, AddSimple(graph, base + "/scale", "Mul", {scale, Output(rs)},
                                         device));
    ASSIGN_OR_RETURN(Node * f, AddSimple(graph, base + "/folded_weights", "Mul",
                                         {weights, Output(s)}, device));
    new_weights = Output(f);
    Node* shifted = nullptr;  // (bias - mean) * s, or -(mean * s) as mean * s to subtract
    if (bias.valid()) {
      ASSIGN_OR_RETURN(Node * d, AddSimple(graph, base + "/centred_bias", "Sub", {bias, mean},
                                           device));
      ASSIGN_OR_RETURN(shifted, AddSimple(graph, base + "/scaled_bias", "Mul",
                                          {Output(d), Output(s)}, device));
      ASSIGN_OR_RETURN(Node * nb, AddSimple(graph, base + "/folded_bias", "Add",
                                            {Output(shifted), offset}, device));
      new_bias = Output(nb);
    } else {
      ASSIGN_OR_RETURN(shifted, AddSimple(graph, base + "/scaled_mean", "Mul", {mean, Output(s)},
                                          device));
      ASSIGN_OR_RETURN(Node * nb, AddSimple(graph, base + "/folded_bias", "Sub",
                                            {offset, Output(shifted)}, device));
      new_bias = Output(nb);
    }
  }
  return FoldedAffine{new_weights, new_bias};
}

// ---------------------------------------------------------------------------

class BatchNormFoldingRule final : public FusionRule {
 public:
  absl::string_view name() const override { return "batch-norm-folding"; }
  std::vector<std::string> start_ops() const override { return {"Conv2D"}; }

  std::optional<FusionMatch> Match(Node* conv, const PassContext& context) const override {
    if (!IsF32(*conv) || !IsFusableIntermediate(*conv, context)) return std::nullopt;
    const std::string& format = conv->attr("data_format").s();
    FusionMatch match{{conv}};
    Node* cur = conv;
    const InputRef* use = SoleConsumer(*cur);
    if (use->node->op() == "BiasAdd") {
      Node* bias = use->node;
      if (use->index != 0 || bias->attr("data_format").s() != format ||
          !IsFusableIntermediate(*bias, context)) {
        return std::nullopt;
      }
      match.nodes.push_back(bias);
      cur = bias;
      use = SoleConsumer(*cur);
    }
    Node* bn = use->node;
    if (bn->op() != "FusedBatchNorm" || use->index != 0 || bn->attr("is_training").b() ||
        bn->attr("data_format").s() != format || !IsF32(*bn) || !IsReplaceable(*bn, context)) {
      return std::nullopt;
    }
    match.nodes.push_back(bn);
    return match;
  }

  absl::Status Apply(const FusionMatch& match, Graph& graph, PassContext& context) const override {
    Node* conv = match.nodes.front();
    Node* bn = match.nodes.back();
    Node* bias_add = match.nodes.size() == 3 ? match.nodes[1] : nullptr;
    const std::string& device = conv->device();
    const std::string base = bn->name();
    const Output filter = conv->input(1);
    const Output bias = bias_add != nullptr ? bias_add->input(1) : Output();
    const std::string format = conv->attr("data_format").s();

    ASSIGN_OR_RETURN(FoldedAffine folded, FoldBatchNorm(graph, *bn, filter, bias, base, device));
    ASSIGN_OR_RETURN(Node * new_conv, AddSimple(graph, conv->name() + "/folded", "Conv2D",
                                                {conv->input(0), folded.weights}, device,
                                                conv->attrs()));
    ASSIGN_OR_RETURN(Node * new_bias_add,
                     AddSimple(graph, base + "/bias_add", "BiasAdd",
                               {Output(new_conv), folded.bias}, device,
                               {{"data_format", format}}));
    RETURN_IF_ERROR(ReplaceOutput(graph, context, Output(bn, 0), Output(new_bias_add, 0)));
    return RemoveMatched(graph, match.nodes);
  }
};

// ---------------------------------------------------------------------------

// Whether `node` is a Reshape to `shape` that reads the pattern's value
// through its input 0 (`use_index`), not as the target shape.
bool IsReshapeTo(const Node& node, int use_index, const Shape& shape) {
  return node.op() == "Reshape" && use_index == 0 && node.output_shape(0) == shape;
}

class DenseBatchNormFoldingRule final : public FusionRule {
 public:
  absl::string_view name() const override { return "dense-batch-norm-folding"; }
  std::vector<std::string> start_ops() const override { return {"MatMul", "_FusedMatMul"}; }

  std::optional<FusionMatch> Match(Node* matmul, const PassContext& context) const override {
    if (!IsF32(*matmul) || !IsFusableIntermediate(*matmul, context)) return std::nullopt;
    // The folded weights scale columns of w; w stored transposed would need
    // rows scaled instead, which no layer builds.
    if (matmul->attr("transpose_b").b()) return std::nullopt;
    if (matmul->op() == "_FusedMatMul") {
      const std::vector<std::string> bias_only = {"BiasAdd"};
      if (matmul->num_inputs() != 3 || matmul->attr("fused_ops").strings() != bias_only) {
        return std::nullopt;
      }
    }
    const Shape& shape = matmul->output_shape(0);  // [rows, channels]
    if (shape.rank() != 2) return std::nullopt;
    FusionMatch match{{matmul}};
    const InputRef* use = SoleConsumer(*matmul);
    if (matmul->op() == "MatMul" && use->node->op() == "BiasAdd") {
      Node* bias = use->node;
      if (use->index != 0 || !IsFusableIntermediate(*bias, context)) return std::nullopt;
      match.nodes.push_back(bias);
      use = SoleConsumer(*bias);
    }
    Node* to_4d = use->node;
    if (!IsReshapeTo(*to_4d, use->index, Shape{shape.dim(0), 1, 1, shape.dim(1)}) ||
        !IsFusableIntermediate(*to_4d, context)) {
      return std::nullopt;
    }
    match.nodes.push_back(to_4d);
    use = SoleConsumer(*to_4d);
    Node* bn = use->node;
    if (bn->op() != "FusedBatchNorm" || use->index != 0 || bn->attr("is_training").b() ||
        bn->attr("data_format").s() != "NHWC" || !IsF32(*bn) ||
        !IsFusableIntermediate(*bn, context)) {
      return std::nullopt;
    }
    match.nodes.push_back(bn);
    use = SoleConsumer(*bn);
    Node* to_2d = use->node;
    if (!IsReshapeTo(*to_2d, use->index, shape) || !IsReplaceable(*to_2d, context)) {
      return std::nullopt;
    }
    match.nodes.push_back(to_2d);
    // Weights read from variables are rescaled on every run: one pass over
    // the [K, C] weights, to save the batch norm's passes over the [rows, C]
    // activations and a kernel or two. With few rows that loses (the MLP
    // 784-256 at batch 1 went from 55 to 130 us); at batch 128 it gains a
    // little. Constant weights fold once, here, so they always pay.
    const int64_t depth = matmul->input(1).shape().dim(0);
    std::vector<Output> folded(bn->inputs().begin() + 1, bn->inputs().end());
    folded.push_back(matmul->input(1));
    if (matmul->op() == "_FusedMatMul") folded.push_back(matmul->input(2));
    if (match.nodes[1]->op() == "BiasAdd") folded.push_back(match.nodes[1]->input(1));
    const bool constant = std::all_of(folded.begin(), folded.end(), [](const Output& o) {
      return o.node->output_value(o.index) != nullptr;
    });
    if (!constant && depth > kMaxWeightRowsPerRow * shape.dim(0)) return std::nullopt;
    return match;
  }

 private:
  // Rescaling weights of more than this many rows per activation row at
  // every run costs more than the batch norm it replaces.
  static constexpr int64_t kMaxWeightRowsPerRow = 1;

  absl::Status Apply(const FusionMatch& match, Graph& graph, PassContext& context) const override {
    Node* matmul = match.nodes.front();
    Node* bn = match.nodes[match.nodes.size() - 2];
    Node* last = match.nodes.back();
    Output bias;
    if (matmul->op() == "_FusedMatMul") {
      bias = matmul->input(2);
    } else if (match.nodes[1]->op() == "BiasAdd") {
      bias = match.nodes[1]->input(1);
    }
    const std::string& device = matmul->device();
    const std::string base = bn->name();
    ASSIGN_OR_RETURN(FoldedAffine folded,
                     FoldBatchNorm(graph, *bn, matmul->input(1), bias, base, device));
    AttrMap attrs = {{"transpose_a", matmul->attr("transpose_a").b()}, {"transpose_b", false}};
    if (const AttrValue* t = matmul->FindAttr("T"); t != nullptr) attrs["T"] = *t;
    ASSIGN_OR_RETURN(Node * new_matmul,
                     AddSimple(graph, matmul->name() + "/folded", "MatMul",
                               {matmul->input(0), folded.weights}, device, std::move(attrs)));
    ASSIGN_OR_RETURN(Node * new_bias_add,
                     AddSimple(graph, base + "/bias_add", "BiasAdd",
                               {Output(new_matmul), folded.bias}, device,
                               {{"data_format", std::string("NHWC")}}));
    RETURN_IF_ERROR(ReplaceOutput(graph, context, Output(last, 0), Output(new_bias_add, 0)));
    return RemoveMatched(graph, match.nodes);
  }
};

// ---------------------------------------------------------------------------

class EpilogueRule final : public FusionRule {
 public:
  EpilogueRule(std::string base, std::string fused, std::string name)
      : base_(std::move(base)), fused_(std::move(fused)), name_(std::move(name)) {}
  absl::string_view name() const override { return name_; }
  std::vector<std::string> start_ops() const override { return {base_}; }

  std::optional<FusionMatch> Match(Node* root, const PassContext& context) const override {
    if (!IsF32(*root) || !IsFusableIntermediate(*root, context)) return std::nullopt;
    const InputRef* use = SoleConsumer(*root);
    Node* bias = use->node;
    if (bias->op() != "BiasAdd" || use->index != 0 || !IsReplaceable(*bias, context)) {
      return std::nullopt;
    }
    const AttrValue* format = root->FindAttr("data_format");
    const std::string& root_format = format != nullptr ? format->s() : "NHWC";
    if (bias->attr("data_format").s() != root_format) return std::nullopt;
    FusionMatch match{{root, bias}};
    Node* cur = bias;
    const Shape& shape = cur->output_shape(0);
    if (IsFusableIntermediate(*cur, context)) {
      const InputRef* u = SoleConsumer(*cur);
      Node* add = u->node;
      if (add->op() == "Add" && IsF32(*add) && IsReplaceable(*add, context) &&
          add->output_shape(0) == shape && add->input(1 - u->index).shape() == shape) {
        match.nodes.push_back(add);
        cur = add;
      }
    }
    if (IsFusableIntermediate(*cur, context)) {
      Node* act = SoleConsumer(*cur)->node;
      const auto& activations = FusedActivations();
      if (std::find(activations.begin(), activations.end(), act->op()) != activations.end() &&
          IsF32(*act) && IsReplaceable(*act, context)) {
        match.nodes.push_back(act);
      }
    }
    return match;
  }

  absl::Status Apply(const FusionMatch& match, Graph& graph, PassContext& context) const override {
    Node* root = match.nodes[0];
    Node* last = match.nodes.back();
    NodeSpec spec;
    spec.name = FusedName(graph, *last);
    spec.op = fused_;
    spec.device = root->device();
    spec.attrs = root->attrs();
    spec.inputs = {root->input(0), root->input(1), match.nodes[1]->input(1)};
    std::vector<std::string> ops = {"BiasAdd"};
    for (size_t k = 2; k < match.nodes.size(); ++k) {
      Node* n = match.nodes[k];
      ops.push_back(n->op());
      if (n->op() == "Add") {
        spec.inputs.push_back(n->input(1 - InputIndexOf(*n, match.nodes[k - 1])));
      } else if (n->op() == "LeakyRelu") {
        spec.attrs["leakyrelu_alpha"] = n->attr("alpha").f();
      }
    }
    spec.attrs["fused_ops"] = std::move(ops);
    ASSIGN_OR_RETURN(Node * fused, graph.AddNode(std::move(spec)));
    RETURN_IF_ERROR(ReplaceOutput(graph, context, Output(last, 0), Output(fused, 0)));
    return RemoveMatched(graph, match.nodes);
  }

 private:
  const std::string base_, fused_, name_;
};

// ---------------------------------------------------------------------------

int ArityOf(const Node& n) {
  int arity = 0;
  return IsFusableElementwiseOp(n.op(), &arity) ? arity : 0;
}

// Whether `operand` can ride along a chain of `shape`: one element (which
// broadcasts without changing the shape) or exactly that shape.
bool IsChainOperand(const Output& operand, const Shape& shape) {
  return operand.shape() == shape || operand.shape().num_elements() == 1;
}

// The input of a chain's first node that carries the chain, or -1.
int HeadInput(const Node& head) {
  const Shape& shape = head.output_shape(0);
  if (ArityOf(head) == 1) return 0;
  if (head.input(0).shape() == shape && IsChainOperand(head.input(1), shape)) return 0;
  if (head.input(1).shape() == shape && IsChainOperand(head.input(0), shape)) return 1;
  return -1;
}

class ElementwiseChainRule final : public FusionRule {
 public:
  absl::string_view name() const override { return "elementwise-chain"; }
  std::vector<std::string> start_ops() const override {
    return {"Neg",     "Square",   "Abs",  "Sqrt",    "Rsqrt", "Exp",     "Log",
            "Relu",    "Relu6",    "Elu",  "Sigmoid", "Tanh",  "Softplus", "LeakyRelu",
            "Add",     "Sub",      "Mul",  "Div",     "Maximum", "Minimum", "Pow"};
  }

  std::optional<FusionMatch> Match(Node* head, const PassContext& context) const override {
    if (!IsF32(*head) || !head->control_inputs().empty() || HeadInput(*head) < 0) {
      return std::nullopt;
    }
    const Shape& shape = head->output_shape(0);
    FusionMatch match{{head}};
    Node* cur = head;
    while (IsFusableIntermediate(*cur, context)) {
      const InputRef* use = SoleConsumer(*cur);
      Node* next = use->node;
      const int arity = ArityOf(*next);
      if (arity == 0 || !IsF32(*next) || next->output_shape(0) != shape ||
          !next->control_inputs().empty()) {
        break;
      }
      if (arity == 2 && !IsChainOperand(next->input(1 - use->index), shape)) break;
      match.nodes.push_back(next);
      cur = next;
    }
    // The last node's output replaces the chain's; it must be replaceable.
    while (match.nodes.size() >= 2 && !IsReplaceable(*match.nodes.back(), context)) {
      match.nodes.pop_back();
    }
    if (match.nodes.size() < 2) return std::nullopt;
    return match;
  }

  absl::Status Apply(const FusionMatch& match, Graph& graph, PassContext& context) const override {
    Node* head = match.nodes.front();
    Node* last = match.nodes.back();
    const int head_input = HeadInput(*head);
    std::vector<Output> args;
    std::vector<ElementwiseStep> steps;
    for (size_t k = 0; k < match.nodes.size(); ++k) {
      Node* n = match.nodes[k];
      ElementwiseStep step;
      step.op = n->op();
      if (n->op() == "LeakyRelu") step.alpha = n->attr("alpha").f();
      if (ArityOf(*n) == 2) {
        const int chain = k == 0 ? head_input : InputIndexOf(*n, match.nodes[k - 1]);
        const Output operand = n->input(1 - chain);
        auto it = std::find(args.begin(), args.end(), operand);
        if (it == args.end()) it = args.insert(args.end(), operand);
        step.operand = static_cast<int>(it - args.begin());
        step.reversed = chain == 1;
      }
      steps.push_back(std::move(step));
    }
    NodeSpec spec;
    spec.name = FusedName(graph, *last);
    spec.op = "_FusedElementwise";
    spec.device = head->device();
    spec.inputs = {head->input(head_input)};
    spec.inputs.insert(spec.inputs.end(), args.begin(), args.end());
    spec.attrs = FusedElementwiseAttrs(steps);
    ASSIGN_OR_RETURN(Node * fused, graph.AddNode(std::move(spec)));
    RETURN_IF_ERROR(ReplaceOutput(graph, context, Output(last, 0), Output(fused, 0)));
    return RemoveMatched(graph, match.nodes);
  }
};

}  // namespace

std::unique_ptr<FusionRule> MakeBatchNormFoldingRule() {
  return std::make_unique<BatchNormFoldingRule>();
}
std::unique_ptr<FusionRule> MakeDenseBatchNormFoldingRule() {
  return std::make_unique<DenseBatchNormFoldingRule>();
}
std::unique_ptr<FusionRule> MakeMatMulEpilogueRule() {
  return std::make_unique<EpilogueRule>("MatMul", "_FusedMatMul", "matmul-epilogue");
}
std::unique_ptr<FusionRule> MakeConv2DEpilogueRule() {
  return std::make_unique<EpilogueRule>("Conv2D", "_FusedConv2D", "conv2d-epilogue");
}
std::unique_ptr<FusionRule> MakeElementwiseChainRule() {
  return std::make_unique<ElementwiseChainRule>();
}

std::vector<std::vector<std::unique_ptr<FusionRule>>> StandardFusionRules() {
  std::vector<std::vector<std::unique_ptr<FusionRule>>> phases(3);
  phases[0].push_back(MakeBatchNormFoldingRule());
  phases[0].push_back(MakeDenseBatchNormFoldingRule());
  phases[1].push_back(MakeMatMulEpilogueRule());
  phases[1].push_back(MakeConv2DEpilogueRule());
  phases[2].push_back(MakeElementwiseChainRule());
  return phases;
}

}  // namespace sluice
