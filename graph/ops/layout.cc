// The layout family: _ToBlocked, _FromBlocked, _BlockedConv2D,
// _BlockedMaxPool and _BlockedAvgPool (graph/ops/layout.h).
#include "graph/ops/layout.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/op_def.h"
#include "graph/ops/op_families.h"
#include "graph/shape_inference.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

int64_t DivideIfKnown(int64_t dim, int64_t by) { return dim < 0 ? kUnknownDim : dim / by; }
int64_t MultiplyIfKnown(int64_t a, int64_t b) { return a < 0 || b < 0 ? kUnknownDim : a * b; }

absl::StatusOr<int64_t> BlockAttr(const InferenceContext& c) {
  const int64_t block = c.GetInt("block");
  if (block < 1) return c.Error("block must be at least 1, got ", block);
  return block;
}

// Checks that input `i` is blocked ([N, C/b, H, W, b], rank 5) and returns
// its NHWC shape.
absl::StatusOr<Shape> BlockedInput(const InferenceContext& c, int i, int64_t block) {
  RETURN_IF_ERROR(c.CheckRank(i, 5));
  const Shape& in = c.input_shape(i);
  if (in.unknown_rank()) return Shape::Unknown(4);
  if (in.dim(4) >= 0 && in.dim(4) != block) {
    return c.Error(c.InputName(i), " ", in.ToString(), " is not in blocks of ", block,
                   " channels (its last dim)");
  }
  return NhwcShapeOfBlocked(in);
}

// The blocked form of an NHWC `output` whose channels must divide by block.
absl::StatusOr<Shape> BlockedOutput(const InferenceContext& c, const Shape& nhwc, int64_t block) {
  if (nhwc.unknown_rank()) return Shape::Unknown(5);
  const int64_t channels = nhwc.dim(3);
  if (channels >= 0 && channels % block != 0) {
    return c.Error(nhwc.ToString(), " has ", channels,
                   " channels, which do not divide into blocks of ", block);
  }
  return BlockedShape(nhwc, block);
}

// The output shape of `base_op` (Conv2D, MaxPool, AvgPool) with c's
// attributes in NHWC over `inputs` (the first NHWC, the rest as c has
// them). The base op's shape function is the one definition of that shape.
absl::StatusOr<Shape> NhwcOutputShape(const InferenceContext& c, absl::string_view base_op,
                                      std::vector<Shape> inputs) {
  const OpDef* def = OpRegistry::Global().Find(base_op);
  if (def == nullptr) return absl::InternalError(absl::StrCat("no op ", base_op));
  AttrMap attrs = c.attrs();
  attrs["data_format"] = std::string("NHWC");
  attrs["T"] = DType::kF32;
  std::vector<DType> dtypes;
  std::vector<const Tensor*> values;
  std::vector<const OpDef*> ops;
  for (size_t i = 0; i < inputs.size(); ++i) {
    dtypes.push_back(c.input_dtype(static_cast<int>(i)));
    values.push_back(nullptr);
    ops.push_back(&c.input_op(static_cast<int>(i)));
  }
  InferenceContext base(*def, attrs, std::move(dtypes), std::move(inputs), std::move(values),
                        std::move(ops), {c.output_dtype(0)});
  RETURN_IF_ERROR(def->shape_fn()(base));
  return base.output_shape(0);
}

absl::Status ToBlockedShape(InferenceContext& c) {
  ASSIGN_OR_RETURN(const int64_t block, BlockAttr(c));
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  ASSIGN_OR_RETURN(Shape output, BlockedOutput(c, c.input_shape(0), block));
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

absl::Status FromBlockedShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 5));
  const Shape& in = c.input_shape(0);
  c.set_output(0, in.unknown_rank() ? Shape::Unknown(4) : NhwcShapeOfBlocked(in));
  return absl::OkStatus();
}

absl::Status BlockedConv2DShape(InferenceContext& c) {
  ASSIGN_OR_RETURN(const int64_t block, BlockAttr(c));
  Shape input = c.input_shape(0);
  if (c.GetBool("blocked_input")) {
    ASSIGN_OR_RETURN(input, BlockedInput(c, 0, block));
  } else {
    RETURN_IF_ERROR(c.CheckRank(0, 4));
  }
  RETURN_IF_ERROR(c.CheckRank(1, 4));
  ASSIGN_OR_RETURN(Shape nhwc, NhwcOutputShape(c, "Conv2D", {input, c.input_shape(1)}));
  ASSIGN_OR_RETURN(Shape output, BlockedOutput(c, nhwc, block));
  if (!c.attr("fused_ops").strings().empty()) {
    RETURN_IF_ERROR(
        CheckFusedEpilogue(c, output, nhwc.unknown_rank() ? kUnknownDim : nhwc.dim(3)));
  } else if (c.num_inputs() != 2) {
    return c.Error("without fused_ops there are no args, got ", c.num_inputs() - 2);
  }
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

absl::Status BlockedPoolShape(InferenceContext& c, absl::string_view base_op) {
  ASSIGN_OR_RETURN(const int64_t block, BlockAttr(c));
  ASSIGN_OR_RETURN(Shape input, BlockedInput(c, 0, block));
  ASSIGN_OR_RETURN(Shape nhwc, NhwcOutputShape(c, base_op, {input}));
  ASSIGN_OR_RETURN(Shape output, BlockedOutput(c, nhwc, block));
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

AttrMap PoolAttrs(const PoolOptions& options) {
  return {{"ksize", options.ksize}, {"strides", options.strides}, {"padding", options.padding}};
}

OpDefBuilder BlockedPoolOp(const char* name, absl::Status (*shape)(InferenceContext&),
                           const char* doc) {
  OpDefBuilder b(name);
  b.Input("input: T")
      .Output("output: T")
      .Attr("T: {f32}")
      .Attr("ksize: list(int)")
      .Attr("strides: list(int)")
      .Attr("padding: {'SAME', 'VALID'}")
      .Attr("block: int")
      .SetShapeFn(shape)
      .Doc(doc);
  return b;
}

}  // namespace

Shape BlockedShape(const Shape& nhwc, int64_t block) {
  return Shape{nhwc.dim(0), DivideIfKnown(nhwc.dim(3), block), nhwc.dim(1), nhwc.dim(2), block};
}

Shape NhwcShapeOfBlocked(const Shape& blocked) {
  return Shape{blocked.dim(0), blocked.dim(2), blocked.dim(3),
               MultiplyIfKnown(blocked.dim(1), blocked.dim(4))};
}

void RegisterLayoutOps(OpRegistry& registry) {
  registry.Register(OpDefBuilder("_ToBlocked")
                        .Input("input: T")
                        .Output("output: T")
                        .Attr("T: {f32}")
                        .Attr("block: int")
                        .SetShapeFn(ToBlockedShape)
                        .Doc("NHWC [N,H,W,C] to blocks of channels [N,C/block,H,W,block]."));
  registry.Register(OpDefBuilder("_FromBlocked")
                        .Input("input: T")
                        .Output("output: T")
                        .Attr("T: {f32}")
                        .SetShapeFn(FromBlockedShape)
                        .Doc("Blocked [N,C/b,H,W,b] back to NHWC [N,H,W,C]."));
  registry.Register(OpDefBuilder("_BlockedConv2D")
                        .Input("input: T")
                        .Input("filter: T")
                        .Input("args: num_args * T")
                        .Output("output: T")
                        .Attr("T: {f32}")
                        .Attr("num_args: int >= 0")
                        .Attr("strides: list(int)")
                        .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
                        .Attr("explicit_paddings: list(int) = []")
                        .Attr("dilations: list(int) = [1, 1, 1, 1]")
                        .Attr("block: int")
                        .Attr("blocked_input: bool = true")
                        .Attr("fused_ops: list(string) = []")
                        .Attr("leakyrelu_alpha: float = 0.2")
                        .SetShapeFn(BlockedConv2DShape)
                        .Doc("Conv2D (with an optional _FusedConv2D epilogue) writing a blocked "
                             "output, from a blocked or NHWC input."));
  registry.Register(BlockedPoolOp(
      "_BlockedMaxPool", [](InferenceContext& c) { return BlockedPoolShape(c, "MaxPool"); },
      "MaxPool over a blocked input."));
  registry.Register(BlockedPoolOp(
      "_BlockedAvgPool", [](InferenceContext& c) { return BlockedPoolShape(c, "AvgPool"); },
      "AvgPool over a blocked input, padding excluded."));
}

Output ToBlocked(const Scope& scope, Output input, int64_t block) {
  return AddOp(scope, "_ToBlocked", {input}, {{"block", block}});
}

Output FromBlocked(const Scope& scope, Output input) {
  return AddOp(scope, "_FromBlocked", {input}, {});
}

Output BlockedConv2D(const Scope& scope, Output input, Output filter,
                     const std::vector<Output>& args, const BlockedConv2DOptions& options) {
  std::vector<Output> inputs = {input, filter};
  inputs.insert(inputs.end(), args.begin(), args.end());
  return AddOp(scope, "_BlockedConv2D", inputs,
               {{"strides", options.conv.strides},
                {"padding", options.conv.padding},
                {"explicit_paddings", options.conv.explicit_paddings},
                {"dilations", options.conv.dilations},
                {"block", options.block},
                {"blocked_input", options.blocked_input},
                {"fused_ops", options.fused_ops},
                {"leakyrelu_alpha", options.leakyrelu_alpha}});
}

Output BlockedMaxPool(const Scope& scope, Output input, const PoolOptions& options) {
  AttrMap attrs = PoolAttrs(options);
  attrs["block"] = int64_t{0};
  if (input.valid() && input.shape().rank() == 5) attrs["block"] = input.shape().dim(4);
  return AddOp(scope, "_BlockedMaxPool", {input}, std::move(attrs));
}

Output BlockedAvgPool(const Scope& scope, Output input, const PoolOptions& options) {
  AttrMap attrs = PoolAttrs(options);
  attrs["block"] = int64_t{0};
  if (input.valid() && input.shape().rank() == 5) attrs["block"] = input.shape().dim(4);
  return AddOp(scope, "_BlockedAvgPool", {input}, std::move(attrs));
}

}  // namespace sluice
