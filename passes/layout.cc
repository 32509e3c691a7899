#include "passes/layout.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/ops/fused.h"
#include "graph/ops/layout.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"

namespace sluice {
namespace {

enum class Kind { kNone, kConv, kPool, kElementwise };

bool IsConv(const Node& n) { return n.op() == "Conv2D" || n.op() == "_FusedConv2D"; }
bool IsPool(const Node& n) { return n.op() == "MaxPool" || n.op() == "AvgPool"; }

// A static NHWC activation with every dim positive.
bool IsActivation(const Shape& s) {
  if (s.rank() != 4 || !s.IsFullyDefined()) return false;
  for (int64_t d : s.dims()) {
    if (d <= 0) return false;
  }
  return true;
}

bool OnCpu(const Node& n) {
  const std::string device = absl::AsciiStrToLower(n.device());
  return device.empty() || absl::StrContains(device, "cpu");
}

bool IsNhwc(const Node& n) {
  const AttrValue* format = n.FindAttr("data_format");
  return format == nullptr || format->s() == "NHWC";
}

// Whether `operand` of an element-wise node of output shape `shape` is one
// element, which broadcasts against the 5-D blocked tensor as against the
// 4-D one.
bool IsScalarOperand(const Output& operand) {
  const Shape& s = operand.shape();
  return s.IsFullyDefined() && s.num_elements() == 1 && s.rank() <= 4;
}

// What `n` would be in a region of blocks of `block` channels; kNone when it
// cannot be in one.
Kind KindOf(const Node& n, const PassContext& context, int64_t block) {
  if (n.num_outputs() != 1 || n.output_dtype(0) != DType::kF32) return Kind::kNone;
  if (!n.control_inputs().empty() || !n.control_outputs().empty()) return Kind::kNone;
  if (std::find(context.targets.begin(), context.targets.end(), &n) != context.targets.end()) {
    return Kind::kNone;
  }
  if (!OnCpu(n)) return Kind::kNone;
  const Shape& out = n.output_shape(0);
  if (!IsActivation(out) || out.dim(3) % block != 0) return Kind::kNone;
  if (IsConv(n)) {
    if (!IsNhwc(n) || !IsActivation(n.input(0).shape()) || !n.input(1).shape().IsFullyDefined()) {
      return Kind::kNone;
    }
    return Kind::kConv;
  }
  if (IsPool(n)) {
    if (!IsNhwc(n) || !IsActivation(n.input(0).shape())) return Kind::kNone;
    return Kind::kPool;
  }
  int arity = 0;
  if (n.op() == "_FusedElementwise") {
    if (n.input(0).shape() != out) return Kind::kNone;
  } else if (!IsFusableElementwiseOp(n.op(), &arity)) {
    return Kind::kNone;
  }
  for (const Output& in : n.inputs()) {
    if (in.shape() != out && !IsScalarOperand(in)) return Kind::kNone;
  }
  return Kind::kElementwise;
}

// Whether input `i` of a region node carries the activation (and so is
// blocked inside a region): a convolution's input and residual, a
// pooling's input, an element-wise operand of the output's shape.
bool CarriesActivation(const Node& n, Kind kind, int i) {
  switch (kind) {
    case Kind::kConv: return i == 0 || i == 3;
    case Kind::kPool: return i == 0;
    case Kind::kElementwise: return n.input(i).shape() == n.output_shape(0);
    case Kind::kNone: return false;
  }
  return false;
}

// Connected sets of candidate nodes, by id.
class UnionFind {
 public:
  explicit UnionFind(int n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  int Find(int x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void Union(int a, int b) { parent_[Find(a)] = Find(b); }

 private:
  std::vector<int> parent_;
};

struct Region {
  std::vector<Node*> nodes;  // in topological order
  bool has_conv = false;
};

class RegionRewriter {
 public:
  RegionRewriter(Graph& graph, PassContext& context, int64_t block, int64_t min_batch,
                 const absl::flat_hash_map<const Node*, Kind>& kinds, const Region& region)
      : graph_(graph),
        context_(context),
        block_(block),
        min_batch_(min_batch),
        kinds_(kinds),
        region_(region) {}

  // Whether the region is worth rewriting (see the file comment of layout.h).
  bool Pays() const {
    // A lone convolution keeps no value blocked between two steps: it would
    // only move the conversions its NHWC kernel does inside into nodes.
    if (!region_.has_conv || region_.nodes.size() < 2) return false;
    if (region_.nodes.front()->output_shape(0).dim(0) < min_batch_) return false;
    for (const Node* n : region_.nodes) {
      bool inside = false, outside = IsFetched(n);
      for (const InputRef& e : n->out_edges()) {
        (ReadsBlocked(*e.node, e.index) ? inside : outside) = true;
      }
      if (inside && outside) return false;
    }
    return true;
  }

  absl::Status Rewrite() {
    for (Node* n : region_.nodes) {
      ASSIGN_OR_RETURN(Node * blocked, AddBlocked(*n));
      blocked_[n] = blocked;
    }
    for (Node* n : region_.nodes) {
      bool outside = IsFetched(n);
      for (const InputRef& e : n->out_edges()) outside |= !ReadsBlocked(*e.node, e.index);
      if (!outside) continue;
      NodeSpec spec;
      spec.name = graph_.UniqueName(absl::StrCat(n->name(), "/from_blocked"));
      spec.op = "_FromBlocked";
      spec.inputs = {Output(blocked_[n])};
      spec.device = n->device();
      ASSIGN_OR_RETURN(Node * from, graph_.AddNode(std::move(spec)));
      RETURN_IF_ERROR(ReplaceOutput(graph_, context_, Output(n, 0), Output(from, 0)));
    }
    for (auto it = region_.nodes.rbegin(); it != region_.nodes.rend(); ++it) {
      RETURN_IF_ERROR(graph_.RemoveNode(*it));
    }
    return absl::OkStatus();
  }

 private:
  bool InRegion(const Node* n) const {
    return std::find(region_.nodes.begin(), region_.nodes.end(), n) != region_.nodes.end();
  }
  bool IsFetched(const Node* n) const {
    return std::any_of(context_.fetches.begin(), context_.fetches.end(),
                       [n](const Output& f) { return f.node == n; });
  }
  // Whether input `i` of `reader` reads a region value in blocked form.
  bool ReadsBlocked(const Node& reader, int i) const {
    if (!InRegion(&reader)) return false;
    return CarriesActivation(reader, kinds_.at(&reader), i);
  }

  // The blocked form of `value`, an activation input of the region: the
  // rewritten producer when it is in the region, else one _ToBlocked shared
  // by every reader.
  absl::StatusOr<Output> Blocked(const Output& value) {
    if (auto it = blocked_.find(value.node); it != blocked_.end()) return Output(it->second);
    if (auto it = to_blocked_.find(value); it != to_blocked_.end()) return Output(it->second);
    NodeSpec spec;
    spec.name = graph_.UniqueName(absl::StrCat(value.node->name(), "/to_blocked"));
    spec.op = "_ToBlocked";
    spec.inputs = {value};
    spec.attrs = {{"block", block_}};
    spec.device = value.node->device();
    ASSIGN_OR_RETURN(Node * to, graph_.AddNode(std::move(spec)));
    to_blocked_[value] = to;
    return Output(to);
  }

  absl::StatusOr<Node*> AddBlocked(const Node& n) {
    const Kind kind = kinds_.at(&n);
    NodeSpec spec;
    spec.name = graph_.UniqueName(absl::StrCat(n.name(), "/blocked"));
    spec.device = n.device();
    for (int i = 0; i < n.num_inputs(); ++i) {
      const Output in = n.input(i);
      if (!CarriesActivation(n, kind, i)) {
        spec.inputs.push_back(in);
        continue;
      }
      // A first convolution reads its few input channels in NHWC: blocking
      // them would mean padding to a whole block.
      if (kind == Kind::kConv && i == 0 && !InRegion(in.node) && in.shape().dim(3) % block_ != 0) {
        spec.inputs.push_back(in);
        continue;
      }
      ASSIGN_OR_RETURN(Output b, Blocked(in));
      spec.inputs.push_back(b);
    }
    switch (kind) {
      case Kind::kConv: {
        spec.op = "_BlockedConv2D";
        spec.attrs = {{"strides", n.attr("strides")},
                      {"padding", n.attr("padding")},
                      {"explicit_paddings", n.attr("explicit_paddings")},
                      {"dilations", n.attr("dilations")},
                      {"block", block_},
                      {"blocked_input", spec.inputs[0].shape().rank() == 5}};
        if (n.op() == "_FusedConv2D") {
          spec.attrs["fused_ops"] = n.attr("fused_ops");
          spec.attrs["leakyrelu_alpha"] = n.attr("leakyrelu_alpha");
        }
        break;
      }
      case Kind::kPool:
        spec.op = n.op() == "MaxPool" ? "_BlockedMaxPool" : "_BlockedAvgPool";
        spec.attrs = {{"ksize", n.attr("ksize")},
                      {"strides", n.attr("strides")},
                      {"padding", n.attr("padding")},
                      {"block", block_}};
        break;
      case Kind::kElementwise:
        spec.op = n.op();
        spec.attrs = n.attrs();
        break;
      case Kind::kNone:
        return absl::InternalError(absl::StrCat(n.DebugName(), " is not part of a region"));
    }
    absl::StatusOr<Node*> added = graph_.AddNode(std::move(spec));
    if (!added.ok()) {
      return absl::InternalError(absl::StrCat("layout: cannot block ", n.DebugName(), ": ",
                                              added.status().message()));
    }
    return *added;
  }

  Graph& graph_;
  PassContext& context_;
  const int64_t block_;
  const int64_t min_batch_;
  const absl::flat_hash_map<const Node*, Kind>& kinds_;
  const Region& region_;
  absl::flat_hash_map<const Node*, Node*> blocked_;
  absl::flat_hash_map<Output, Node*> to_blocked_;
};

}  // namespace

absl::StatusOr<bool> LayoutPass::RunImpl(Graph& graph, PassContext& context) {
  // Blocked layouts are the CPU convolutions' format; on an accelerator the
  // convolutions leave the host.
  if (context.accelerator_present) return false;
  int64_t block = block_;
  if (block == 0 && context.kernels != nullptr) {
    block = context.kernels->channel_block(DeviceType::kCpu);
  }
  if (block <= 0) return false;

  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
  absl::flat_hash_map<const Node*, Kind> kinds;
  for (Node* n : order) {
    const Kind kind = KindOf(*n, context, block);
    if (kind != Kind::kNone) kinds[n] = kind;
  }
  if (kinds.empty()) return false;

  UnionFind sets(graph.id_bound());
  for (const auto& [n, kind] : kinds) {
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Node* producer = n->input(i).node;
      if (CarriesActivation(*n, kind, i) && kinds.contains(producer)) {
        sets.Union(n->id(), producer->id());
      }
    }
  }
  absl::flat_hash_map<int, Region> regions;
  std::vector<int> region_order;  // deterministic: by first node in topological order
  for (Node* n : order) {
    auto it = kinds.find(n);
    if (it == kinds.end()) continue;
    const int root = sets.Find(n->id());
    if (!regions.contains(root)) region_order.push_back(root);
    Region& r = regions[root];
    r.nodes.push_back(n);
    r.has_conv |= it->second == Kind::kConv;
  }

  bool changed = false;
  for (int root : region_order) {
    RegionRewriter rewriter(graph, context, block, min_batch_, kinds, regions[root]);
    if (!rewriter.Pays()) continue;
    RETURN_IF_ERROR(rewriter.Rewrite());
    changed = true;
  }
  return changed;
}

}  // namespace sluice
