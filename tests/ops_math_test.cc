// Shape and dtype inference of the math ops, their errors, the arithmetic
// operators on Output, and how builders behave after an error.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "graph/ops/math.h"
#include "graph/ops/state.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

std::string Message(const Scope& s) { return std::string(s.status().message()); }

using BinaryBuilder = Output (*)(const Scope&, Output, Output);
using UnaryBuilder = Output (*)(const Scope&, Output);
using ReduceBuilder = Output (*)(const Scope&, Output, IntsArg, const ReduceOptions&);

struct BinaryOp {
  const char* name;
  BinaryBuilder build;
};
struct UnaryOp {
  const char* name;
  UnaryBuilder build;
};
struct ReduceOp {
  const char* name;
  ReduceBuilder build;
};

const std::vector<BinaryOp> kArithmetic = {{"Add", Add},        {"Sub", Sub}, {"Mul", Mul},
                                           {"Div", Div},        {"Pow", Pow}, {"Maximum", Maximum},
                                           {"Minimum", Minimum}};
const std::vector<BinaryOp> kComparisons = {{"Equal", Equal},     {"NotEqual", NotEqual},
                                            {"Less", Less},       {"LessEqual", LessEqual},
                                            {"Greater", Greater}, {"GreaterEqual", GreaterEqual}};
const std::vector<ReduceOp> kReductions = {
    {"Sum", Sum}, {"Mean", Mean}, {"Max", Max}, {"Min", Min}, {"Prod", Prod}};

TEST_CASE("Binary arithmetic broadcasts shapes and infers T") {
  for (const BinaryOp& op : kArithmetic) {
    INFO(op.name);
    Scope root = Scope::NewRootScope();
    Output a = Placeholder(root, DType::kF32, Shape{kUnknownDim, 1, 3});
    Output b = Placeholder(root, DType::kF32, Shape{4, 1});
    Output y = op.build(root, a, b);
    REQUIRE(root.ok());
    CHECK(y.node->op() == op.name);
    CHECK(y.node->name() == op.name);
    CHECK(y.shape().ToString() == "[?,4,3]");
    CHECK(y.dtype() == DType::kF32);
    CHECK(y.node->attr("T").dtype() == DType::kF32);
    CHECK(y.node->op_def().is_differentiable());

    // An unknown dim against a known dim > 1 takes the known dim.
    Output c = Placeholder(root, DType::kF32, Shape{kUnknownDim, 5});
    Output d = Placeholder(root, DType::kF32, Shape{5});
    CHECK(op.build(root, c, d).shape().ToString() == "[?,5]");
    CHECK(
        op.build(root, d, Placeholder(root, DType::kF32, Shape{kUnknownDim})).shape().ToString() ==
        "[5]");
    CHECK(op.build(root, a, Const(root, 2.0f)).shape().ToString() == "[?,1,3]");
    CHECK(op.build(root, a, Placeholder(root, DType::kF32)).shape().unknown_rank());
    // Integer and 16-bit float tensors are numeric too.
    Output i = Placeholder(root, DType::kI64, Shape{2});
    CHECK(op.build(root, i, i).dtype() == DType::kI64);
    Output h = Placeholder(root, DType::kF16, Shape{2});
    CHECK(op.build(root, h, h).dtype() == DType::kF16);
    CHECK(root.ok());
  }
}

TEST_CASE("Binary arithmetic rejects incompatible shapes, mixed dtypes and bools") {
  for (const BinaryOp& op : kArithmetic) {
    INFO(op.name);
    const std::string prefix = std::string("bad (") + op.name + "): ";
    Scope shapes = Scope::NewRootScope();
    op.build(shapes.WithOpName("bad"), Placeholder(shapes, DType::kF32, Shape{2, 3}),
             Placeholder(shapes, DType::kF32, Shape{kUnknownDim, 4}));
    CHECK_THAT(Message(shapes), Contains(prefix + "shapes cannot be broadcast: [2,3] vs [?,4]"));

    Scope mixed = Scope::NewRootScope();
    op.build(mixed.WithOpName("bad"), Placeholder(mixed, DType::kF32, Shape{2}),
             Placeholder(mixed, DType::kF64, Shape{2}));
    CHECK_THAT(Message(mixed), Contains(prefix + "input 1 (y) is f64 but should be f32 (attr T)"));

    Scope bools = Scope::NewRootScope();
    Output flags = Placeholder(bools, DType::kBool, Shape{2});
    op.build(bools.WithOpName("bad"), flags, flags);
    CHECK_THAT(Message(bools),
               Contains(prefix + "attr 'T' = bool is not allowed; allowed: f32, f64, f16, bf16, "
                                 "i8, u8, i32, i64"));
  }
}

TEST_CASE("AddN merges its inputs' shapes") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root, DType::kF32, Shape{kUnknownDim, 3});
  Output b = Placeholder(root, DType::kF32, Shape{2, kUnknownDim});
  Output any = Placeholder(root, DType::kF32);
  Output sum = AddN(root, {a, b, a});
  REQUIRE(root.ok());
  CHECK(sum.node->name() == "AddN");
  CHECK(sum.shape().ToString() == "[2,3]");
  CHECK(sum.dtype() == DType::kF32);
  CHECK(sum.node->attr("N").i() == 3);
  CHECK(sum.node->attr("T").dtype() == DType::kF32);
  CHECK(sum.node->op_def().is_differentiable());
  CHECK(AddN(root, {a}).shape().ToString() == "[?,3]");
  CHECK(AddN(root, {any, b}).shape().ToString() == "[2,?]");
  CHECK(AddN(root, {any, any}).shape().unknown_rank());
  Output i = Placeholder(root, DType::kI32, Shape{4});
  CHECK(AddN(root, {i, i}).dtype() == DType::kI32);
  REQUIRE(root.ok());

  // The message names an earlier input that conflicts, not just input 0.
  Output c = Placeholder(root, DType::kF32, Shape{3, 3});
  AddN(root.WithOpName("bad"), {a, b, c});
  CHECK_THAT(Message(root),
             Contains("bad (AddN): inputs must have the same shape: input 1 is [2,?] but input 2 "
                      "is [3,3]"));

  Scope rank = Scope::NewRootScope();
  AddN(rank.WithOpName("r"),
       {Placeholder(rank, DType::kF32, Shape{2}), Placeholder(rank, DType::kF32, Shape{2, 1})});
  CHECK_THAT(Message(rank),
             Contains("r (AddN): inputs must have the same shape: input 0 is [2] but input 1 is "
                      "[2,1]"));

  Scope mixed = Scope::NewRootScope();
  AddN(mixed.WithOpName("m"),
       {Placeholder(mixed, DType::kF32, Shape{2}), Placeholder(mixed, DType::kF64, Shape{2})});
  CHECK_THAT(Message(mixed),
             Contains("m (AddN): input 1 (inputs) is f64 but should be f32 (attr T)"));

  Scope empty = Scope::NewRootScope();
  CHECK_FALSE(AddN(empty, {}).valid());
  CHECK(Message(empty) == "AddN needs at least one input");
}

TEST_CASE("Unary math keeps the shape and checks the dtype") {
  const std::vector<UnaryOp> numeric = {{"Neg", Neg}, {"Square", Square}, {"Abs", Abs}};
  const std::vector<UnaryOp> floating = {
      {"Sqrt", Sqrt}, {"Rsqrt", Rsqrt}, {"Exp", Exp}, {"Log", Log}};
  std::vector<UnaryOp> all = numeric;
  all.insert(all.end(), floating.begin(), floating.end());
  for (const UnaryOp& op : all) {
    INFO(op.name);
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root, DType::kF64, Shape{kUnknownDim, 7});
    Output y = op.build(root, x);
    REQUIRE(root.ok());
    CHECK(y.node->name() == op.name);
    CHECK(y.shape().ToString() == "[?,7]");
    CHECK(y.dtype() == DType::kF64);
    CHECK(y.node->attr("T").dtype() == DType::kF64);
    CHECK(y.node->op_def().is_differentiable());
    CHECK(op.build(root, Placeholder(root, DType::kF32)).shape().unknown_rank());
    CHECK(op.build(root, Const(root, 1.0f)).shape().ToString() == "[]");
    CHECK(op.build(root, Placeholder(root, DType::kBF16, Shape{3})).dtype() == DType::kBF16);
  }
  for (const UnaryOp& op : numeric) {
    INFO(op.name);
    Scope root = Scope::NewRootScope();
    CHECK(op.build(root, Placeholder(root, DType::kI32, Shape{3})).dtype() == DType::kI32);
    op.build(root.WithOpName("b"), Placeholder(root, DType::kBool, Shape{3}));
    CHECK_THAT(Message(root), Contains(std::string("b (") + op.name +
                                       "): attr 'T' = bool is not allowed; allowed: f32, f64, "
                                       "f16, bf16, i8, u8, i32, i64"));
  }
  for (const UnaryOp& op : floating) {
    INFO(op.name);
    Scope root = Scope::NewRootScope();
    op.build(root.WithOpName("i"), Placeholder(root, DType::kI32, Shape{3}));
    CHECK_THAT(Message(root), Contains(std::string("i (") + op.name +
                                       "): attr 'T' = i32 is not allowed; allowed: f32, f64, f16, "
                                       "bf16"));
  }
}

TEST_CASE("MatMul infers [M,N] from either side") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 784});
  Output w = Placeholder(root, DType::kF32, Shape{784, 256});
  Output y = MatMul(root, x, w);
  REQUIRE(root.ok());
  CHECK(y.node->name() == "MatMul");
  CHECK(y.shape().ToString() == "[?,256]");
  CHECK(y.dtype() == DType::kF32);
  CHECK(y.node->attr("T").dtype() == DType::kF32);
  CHECK_FALSE(y.node->attr("transpose_a").b());
  CHECK_FALSE(y.node->attr("transpose_b").b());
  CHECK(y.node->op_def().is_differentiable());

  Output wt = Placeholder(root, DType::kF32, Shape{256, 784});
  Output yt = MatMul(root, x, wt, {.transpose_b = true});
  CHECK(yt.shape().ToString() == "[?,256]");
  CHECK(yt.node->attr("transpose_b").b());
  Output xt = Placeholder(root, DType::kF32, Shape{784, 5});
  CHECK(MatMul(root, xt, w, {.transpose_a = true}).shape().ToString() == "[5,256]");
  CHECK(MatMul(root, xt, wt, {.transpose_a = true, .transpose_b = true}).shape().ToString() ==
        "[5,256]");
  // An unknown inner dim is not checked; unknown-rank inputs give unknown dims.
  Output k = Placeholder(root, DType::kF32, Shape{3, kUnknownDim});
  CHECK(MatMul(root, k, w).shape().ToString() == "[3,256]");
  CHECK(MatMul(root, x, Placeholder(root, DType::kF32)).shape().ToString() == "[?,?]");
  CHECK(MatMul(root, Placeholder(root, DType::kF32), w).shape().ToString() == "[?,256]");
  // Integer products are allowed.
  Output i = Placeholder(root, DType::kI64, Shape{2, 3});
  Output j = Placeholder(root, DType::kI64, Shape{3, 4});
  CHECK(MatMul(root, i, j).dtype() == DType::kI64);
  REQUIRE(root.ok());
}

TEST_CASE("MatMul names both shapes and the transposes on a mismatch") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 784});
  Scope dense = root.NewSubScope("dense");
  MatMul(dense, x, Placeholder(root, DType::kF32, Shape{100, 10}));
  CHECK_THAT(Message(root),
             Contains("dense/MatMul (MatMul): inner dimensions differ: [?,784] vs [100,10]"));

  Scope transposed = Scope::NewRootScope();
  MatMul(transposed.WithOpName("mm"), Placeholder(transposed, DType::kF32, Shape{2, 3}),
         Placeholder(transposed, DType::kF32, Shape{3, 2}), {.transpose_b = true});
  CHECK(Message(transposed) ==
        "mm (MatMul): inner dimensions differ: [2,3] vs [3,2] (transpose_a=false, "
        "transpose_b=true)");

  Scope rank_a = Scope::NewRootScope();
  MatMul(rank_a.WithOpName("mm"), Placeholder(rank_a, DType::kF32, Shape{3}),
         Placeholder(rank_a, DType::kF32, Shape{3, 3}));
  CHECK_THAT(Message(rank_a), Contains("mm (MatMul): a must have rank 2, got [3]"));
  Scope rank_b = Scope::NewRootScope();
  MatMul(rank_b.WithOpName("mm"), Placeholder(rank_b, DType::kF32, Shape{3, 3}),
         Placeholder(rank_b, DType::kF32, Shape{1, 3, 3}));
  CHECK_THAT(Message(rank_b), Contains("mm (MatMul): b must have rank 2, got [1,3,3]"));

  Scope types = Scope::NewRootScope();
  Output u = Placeholder(types, DType::kU8, Shape{2, 2});
  MatMul(types.WithOpName("mm"), u, u);
  CHECK_THAT(Message(types), Contains("mm (MatMul): attr 'T' = u8 is not allowed; allowed: f32, "
                                      "f64, f16, bf16, i32, i64"));
  Scope mixed = Scope::NewRootScope();
  MatMul(mixed.WithOpName("mm"), Placeholder(mixed, DType::kF32, Shape{2, 2}),
         Placeholder(mixed, DType::kF64, Shape{2, 2}));
  CHECK_THAT(Message(mixed),
             Contains("mm (MatMul): input 1 (b) is f64 but should be f32 (attr T)"));
}

TEST_CASE("BatchMatMul broadcasts batch dims") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 1, 3, 4});
  Output y = Placeholder(root, DType::kF32, Shape{5, 4, 6});
  Output z = BatchMatMul(root, x, y);
  REQUIRE(root.ok());
  CHECK(z.node->name() == "BatchMatMul");
  CHECK(z.shape().ToString() == "[?,5,3,6]");
  CHECK(z.dtype() == DType::kF32);
  CHECK(z.node->attr("T").dtype() == DType::kF32);
  CHECK_FALSE(z.node->attr("adj_x").b());
  CHECK(z.node->op_def().is_differentiable());

  Output yt = Placeholder(root, DType::kF32, Shape{5, 6, 4});
  CHECK(BatchMatMul(root, x, yt, {.adj_y = true}).shape().ToString() == "[?,5,3,6]");
  Output xt = Placeholder(root, DType::kF32, Shape{2, 4, 3});
  CHECK(BatchMatMul(root, xt, Placeholder(root, DType::kF32, Shape{4, 6}), {.adj_x = true})
            .shape()
            .ToString() == "[2,3,6]");
  // Plain matrices, unknown inner and batch dims.
  CHECK(BatchMatMul(root, Placeholder(root, DType::kF32, Shape{3, 4}),
                    Placeholder(root, DType::kF32, Shape{kUnknownDim, 7}))
            .shape()
            .ToString() == "[3,7]");
  CHECK(BatchMatMul(root, Placeholder(root, DType::kF32, Shape{kUnknownDim, 3, 4}),
                    Placeholder(root, DType::kF32, Shape{6, 4, 2}))
            .shape()
            .ToString() == "[6,3,2]");
  // Without both ranks the number of batch dims is unknown.
  CHECK(BatchMatMul(root, x, Placeholder(root, DType::kF32)).shape().unknown_rank());
  CHECK(BatchMatMul(root, Placeholder(root, DType::kF32), y).shape().unknown_rank());
  REQUIRE(root.ok());

  BatchMatMul(root.WithOpName("bmm"), x, Placeholder(root, DType::kF32, Shape{2, 5, 6}));
  CHECK_THAT(Message(root),
             Contains("bmm (BatchMatMul): inner dimensions differ: [?,1,3,4] vs [2,5,6]"));
  Scope adj = Scope::NewRootScope();
  Output m = Placeholder(adj, DType::kF32, Shape{2, 3});
  BatchMatMul(adj.WithOpName("bmm"), m, Placeholder(adj, DType::kF32, Shape{3, 2}),
              {.adj_x = true});
  CHECK(Message(adj) ==
        "bmm (BatchMatMul): inner dimensions differ: [2,3] vs [3,2] (adj_x=true, adj_y=false)");
  Scope batch = Scope::NewRootScope();
  BatchMatMul(batch.WithOpName("b"), Placeholder(batch, DType::kF32, Shape{2, 3, 4}),
              Placeholder(batch, DType::kF32, Shape{3, 4, 5}));
  CHECK_THAT(Message(batch), Contains("b (BatchMatMul): batch dimensions cannot be broadcast: "
                                      "[2,3,4] vs [3,4,5]"));
  Scope rank = Scope::NewRootScope();
  BatchMatMul(rank.WithOpName("b"), Placeholder(rank, DType::kF32, Shape{3, 4}),
              Placeholder(rank, DType::kF32, Shape{4}));
  CHECK_THAT(Message(rank), Contains("b (BatchMatMul): y must have rank at least 2, got [4]"));
}

TEST_CASE("Reductions follow known axes and keep_dims") {
  for (const ReduceOp& op : kReductions) {
    INFO(op.name);
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 3, 4});
    Output y = op.build(root, x, {1}, {});
    REQUIRE(root.ok());
    CHECK(y.node->name() == op.name);
    CHECK(y.node->input(1).node->name() == "axes/Const");
    CHECK(y.shape().ToString() == "[?,4]");
    CHECK(y.dtype() == DType::kF32);
    CHECK(y.node->attr("T").dtype() == DType::kF32);
    CHECK(y.node->attr("Tidx").dtype() == DType::kI32);
    CHECK_FALSE(y.node->attr("keep_dims").b());
    CHECK(y.node->op_def().is_differentiable());

    CHECK(op.build(root, x, {-1, 0}, {}).shape().ToString() == "[3]");
    CHECK(op.build(root, x, {1}, {.keep_dims = true}).shape().ToString() == "[?,1,4]");
    CHECK(op.build(root, x, {0, 2}, {.keep_dims = true}).shape().ToString() == "[1,3,1]");
    CHECK(op.build(root, x, std::vector<int64_t>{}, {}).shape().ToString() == "[?,3,4]");
    CHECK(op.build(root, x, {0, 1, 2}, {}).shape().ToString() == "[]");
    // A scalar axis, and axes given as an i64 tensor.
    CHECK(op.build(root, x, Const(root, int32_t{-1}), {}).shape().ToString() == "[?,3]");
    Output axes64 = op.build(root, x, Const(root, std::vector<int64_t>{2}), {});
    CHECK(axes64.shape().ToString() == "[?,3]");
    CHECK(axes64.node->attr("Tidx").dtype() == DType::kI64);
    // Integer inputs reduce too.
    CHECK(op.build(root, Placeholder(root, DType::kI64, Shape{2}), {0}, {}).dtype() == DType::kI64);
    REQUIRE(root.ok());
  }
}

TEST_CASE("Reductions over axes or ranks that are not known") {
  for (const ReduceOp& op : kReductions) {
    INFO(op.name);
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 1, 4});
    // Only the number of axes is known: it fixes the output rank.
    Output scalar_axis = Placeholder(root, DType::kI32, Shape{});
    CHECK(op.build(root, x, scalar_axis, {}).shape().ToString() == "[?,?]");
    Output two_axes = Placeholder(root, DType::kI32, Shape{2});
    CHECK(op.build(root, x, two_axes, {}).shape().ToString() == "[?]");
    // With keep_dims a dim of 1 stays 1; reducing every axis makes all dims 1.
    CHECK(op.build(root, x, two_axes, {.keep_dims = true}).shape().ToString() == "[?,1,?]");
    Output three_axes = Placeholder(root, DType::kI32, Shape{3});
    CHECK(op.build(root, x, three_axes, {.keep_dims = true}).shape().ToString() == "[1,1,1]");
    CHECK(op.build(root, x, three_axes, {}).shape().ToString() == "[]");
    Output no_axes = Placeholder(root, DType::kI32, Shape{0});
    CHECK(op.build(root, x, no_axes, {}).shape().ToString() == "[?,1,4]");
    // Nothing known about the axes.
    Output any_axes = Placeholder(root, DType::kI32, Shape{kUnknownDim});
    CHECK(op.build(root, x, any_axes, {}).shape().unknown_rank());
    CHECK(op.build(root, x, any_axes, {.keep_dims = true}).shape().ToString() == "[?,1,?]");
    CHECK(op.build(root, x, Placeholder(root, DType::kI64), {}).shape().unknown_rank());
    // Nothing known about the input's rank.
    Output unknown = Placeholder(root, DType::kF32);
    CHECK(op.build(root, unknown, {0}, {}).shape().unknown_rank());
    CHECK(op.build(root, unknown, {0}, {.keep_dims = true}).shape().unknown_rank());
    CHECK(op.build(root, unknown, any_axes, {.keep_dims = true}).shape().unknown_rank());
    REQUIRE(root.ok());
  }
}

TEST_CASE("Reductions reject bad axes") {
  for (const ReduceOp& op : kReductions) {
    INFO(op.name);
    const std::string prefix = std::string("r (") + op.name + "): ";
    Scope far = Scope::NewRootScope();
    Output x = Placeholder(far, DType::kF32, Shape{kUnknownDim, 3, 4});
    op.build(far.WithOpName("r"), x, {3}, {});
    CHECK_THAT(Message(far),
               Contains(prefix + "reduction axis 3 is out of range for input of shape [?,3,4]"));

    Scope negative = Scope::NewRootScope();
    op.build(negative.WithOpName("r"), Placeholder(negative, DType::kF32, Shape{2, 2}), {0, -3},
             {});
    CHECK_THAT(Message(negative),
               Contains(prefix + "reduction axis -3 is out of range for input of shape [2,2]"));

    Scope dup = Scope::NewRootScope();
    op.build(dup.WithOpName("r"), Placeholder(dup, DType::kF32, Shape{2, 2}), {1, -1}, {});
    CHECK_THAT(Message(dup), Contains(prefix + "reduction axis -1 is repeated in [1,-1]"));
    // A literal repeat is caught even when the rank is unknown.
    Scope dup_unknown = Scope::NewRootScope();
    op.build(dup_unknown.WithOpName("r"), Placeholder(dup_unknown, DType::kF32), {0, 2, 0}, {});
    CHECK_THAT(Message(dup_unknown), Contains(prefix + "reduction axis 0 is repeated in [0,2,0]"));

    Scope too_many = Scope::NewRootScope();
    op.build(too_many.WithOpName("r"), Placeholder(too_many, DType::kF32, Shape{2, 2}),
             Placeholder(too_many, DType::kI32, Shape{3}), {});
    CHECK_THAT(Message(too_many),
               Contains(prefix + "reduction_indices of shape [3] names more axes than the input "
                                 "of shape [2,2] has"));
    Scope scalar = Scope::NewRootScope();
    op.build(scalar.WithOpName("r"), Const(scalar, 1.0f), Placeholder(scalar, DType::kI32, Shape{}),
             {});
    CHECK_THAT(Message(scalar),
               Contains(prefix + "reduction_indices of shape [] names more axes than the input of "
                                 "shape [] has"));

    Scope matrix = Scope::NewRootScope();
    op.build(matrix.WithOpName("r"), Placeholder(matrix, DType::kF32, Shape{2, 2}),
             Placeholder(matrix, DType::kI32, Shape{1, 2}), {});
    CHECK_THAT(Message(matrix),
               Contains(prefix + "reduction_indices must be a scalar or a vector, got [1,2]"));

    Scope float_axes = Scope::NewRootScope();
    op.build(float_axes.WithOpName("r"), Placeholder(float_axes, DType::kF32, Shape{2}),
             Const(float_axes, 0.0f), {});
    CHECK_THAT(Message(float_axes),
               Contains(prefix + "attr 'Tidx' = f32 is not allowed; allowed: i32, i64"));

    Scope bools = Scope::NewRootScope();
    op.build(bools.WithOpName("r"), Placeholder(bools, DType::kBool, Shape{2}), {0}, {});
    CHECK_THAT(Message(bools), Contains(prefix + "attr 'T' = bool is not allowed"));
  }
}

TEST_CASE("ArgMax drops the dimension and yields indices") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 10});
  Output i = ArgMax(root, x, 1);
  REQUIRE(root.ok());
  CHECK(i.node->name() == "ArgMax");
  CHECK(i.shape().ToString() == "[?]");
  CHECK(i.dtype() == DType::kI64);
  CHECK(i.node->attr("T").dtype() == DType::kF32);
  CHECK(i.node->attr("Tidx").dtype() == DType::kI32);
  CHECK_FALSE(i.node->op_def().is_differentiable());
  CHECK(ArgMax(root, x, -2).shape().ToString() == "[10]");
  Output i32 = ArgMax(root, x, int64_t{0}, DType::kI32);
  CHECK(i32.dtype() == DType::kI32);
  CHECK(i32.node->attr("output_type").dtype() == DType::kI32);
  CHECK(ArgMax(root, x, Const(root, int64_t{1})).node->attr("Tidx").dtype() == DType::kI64);
  // An unknown dimension removes one dim of unknown size.
  Output dim = Placeholder(root, DType::kI32, Shape{});
  CHECK(ArgMax(root, Placeholder(root, DType::kF32, Shape{4, 5, 6}), dim).shape().ToString() ==
        "[?,?]");
  CHECK(ArgMax(root, Placeholder(root, DType::kF32), 0).shape().unknown_rank());
  CHECK(ArgMax(root, Placeholder(root, DType::kI32, Shape{3}), 0).shape().ToString() == "[]");
  REQUIRE(root.ok());

  ArgMax(root.WithOpName("am"), x, 2);
  CHECK_THAT(Message(root),
             Contains("am (ArgMax): dimension 2 is out of range for input of shape [?,10]"));
  Scope vector = Scope::NewRootScope();
  ArgMax(vector.WithOpName("am"), Placeholder(vector, DType::kF32, Shape{2, 2}),
         Const(vector, std::vector<int32_t>{0}));
  CHECK_THAT(Message(vector), Contains("am (ArgMax): dimension must have rank 0, got [1]"));
  Scope scalar = Scope::NewRootScope();
  ArgMax(scalar.WithOpName("am"), Const(scalar, 1.0f), 0);
  CHECK_THAT(Message(scalar), Contains("am (ArgMax): input must have rank at least 1, got []"));
  Scope type = Scope::NewRootScope();
  ArgMax(type.WithOpName("am"), Placeholder(type, DType::kF32, Shape{3}), 0, DType::kF32);
  CHECK_THAT(Message(type),
             Contains("am (ArgMax): attr 'output_type' = f32 is not allowed; allowed: i32, i64"));
}

TEST_CASE("Comparisons broadcast and yield bools") {
  for (const BinaryOp& op : kComparisons) {
    INFO(op.name);
    Scope root = Scope::NewRootScope();
    Output a = Placeholder(root, DType::kI32, Shape{kUnknownDim, 3});
    Output y = op.build(root, a, Const(root, int32_t{1}));
    REQUIRE(root.ok());
    CHECK(y.node->name() == op.name);
    CHECK(y.dtype() == DType::kBool);
    CHECK(y.node->attr("T").dtype() == DType::kI32);
    CHECK(y.shape().ToString() == "[?,3]");
    CHECK_FALSE(y.node->op_def().is_differentiable());
    CHECK(op.build(root, a, Placeholder(root, DType::kI32, Shape{2, 1, 1})).shape().ToString() ==
          "[2,?,3]");
    CHECK(op.build(root, a, Placeholder(root, DType::kI32)).shape().unknown_rank());
    REQUIRE(root.ok());

    const std::string prefix = std::string("c (") + op.name + "): ";
    Scope shapes = Scope::NewRootScope();
    op.build(shapes.WithOpName("c"), Placeholder(shapes, DType::kF32, Shape{2}),
             Placeholder(shapes, DType::kF32, Shape{3}));
    CHECK_THAT(Message(shapes), Contains(prefix + "shapes cannot be broadcast: [2] vs [3]"));
    Scope mixed = Scope::NewRootScope();
    op.build(mixed.WithOpName("c"), Placeholder(mixed, DType::kI32, Shape{2}),
             Placeholder(mixed, DType::kI64, Shape{2}));
    CHECK_THAT(Message(mixed), Contains(prefix + "input 1 (y) is i64 but should be i32 (attr T)"));
  }
  // Equality is defined for bools, ordering is not.
  Scope root = Scope::NewRootScope();
  Output p = Placeholder(root, DType::kBool, Shape{3});
  CHECK(Equal(root, p, p).dtype() == DType::kBool);
  CHECK(NotEqual(root, p, p).dtype() == DType::kBool);
  REQUIRE(root.ok());
  for (const BinaryOp& op : kComparisons) {
    const std::string name = op.name;
    if (name == "Equal" || name == "NotEqual") continue;
    INFO(op.name);
    Scope less = Scope::NewRootScope();
    Output b = Placeholder(less, DType::kBool);
    op.build(less.WithOpName("c"), b, b);
    CHECK_THAT(Message(less),
               Contains(std::string("c (") + op.name + "): attr 'T' = bool is not allowed"));
  }
}

TEST_CASE("Logic ops take and yield bools") {
  Scope root = Scope::NewRootScope();
  Output p = Placeholder(root, DType::kBool, Shape{3});
  Output q = Placeholder(root, DType::kBool, Shape{kUnknownDim, 1});
  Output a = LogicalAnd(root, p, q);
  Output o = LogicalOr(root, p, q);
  Output n = LogicalNot(root, q);
  REQUIRE(root.ok());
  CHECK(a.node->name() == "LogicalAnd");
  CHECK(a.shape().ToString() == "[?,3]");
  CHECK(a.dtype() == DType::kBool);
  CHECK(o.shape().ToString() == "[?,3]");
  CHECK(o.dtype() == DType::kBool);
  CHECK(n.shape().ToString() == "[?,1]");
  CHECK(n.dtype() == DType::kBool);
  CHECK(LogicalOr(root, p, Placeholder(root, DType::kBool)).shape().unknown_rank());
  CHECK(LogicalNot(root, Placeholder(root, DType::kBool)).shape().unknown_rank());
  REQUIRE(root.ok());

  Output i = Placeholder(root, DType::kI32, Shape{3});
  LogicalAnd(root.WithOpName("and"), i, p);
  CHECK_THAT(Message(root), Contains("and (LogicalAnd): input 0 (x) is i32 but should be bool"));
  Scope or_scope = Scope::NewRootScope();
  Output b = Placeholder(or_scope, DType::kBool, Shape{2});
  LogicalOr(or_scope.WithOpName("or"), b, Placeholder(or_scope, DType::kF32, Shape{2}));
  CHECK_THAT(Message(or_scope), Contains("or (LogicalOr): input 1 (y) is f32 but should be bool"));
  Scope shapes = Scope::NewRootScope();
  LogicalOr(shapes.WithOpName("or"), Placeholder(shapes, DType::kBool, Shape{2}),
            Placeholder(shapes, DType::kBool, Shape{3}));
  CHECK_THAT(Message(shapes), Contains("or (LogicalOr): shapes cannot be broadcast: [2] vs [3]"));
  Scope not_scope = Scope::NewRootScope();
  LogicalNot(not_scope.WithOpName("not"), Placeholder(not_scope, DType::kF32, Shape{2}));
  CHECK_THAT(Message(not_scope),
             Contains("not (LogicalNot): input 0 (x) is f32 but should be bool"));
}

TEST_CASE("Select broadcasts all three inputs") {
  Scope root = Scope::NewRootScope();
  Output c = Placeholder(root, DType::kBool, Shape{kUnknownDim, 1});
  Output t = Placeholder(root, DType::kF32, Shape{4});
  Output e = Const(root, 0.0f);
  Output y = Select(root, c, t, e);
  REQUIRE(root.ok());
  CHECK(y.node->name() == "Select");
  CHECK(y.shape().ToString() == "[?,4]");
  CHECK(y.dtype() == DType::kF32);
  CHECK(y.node->attr("T").dtype() == DType::kF32);
  CHECK(y.node->op_def().is_differentiable());
  CHECK(Select(root, Placeholder(root, DType::kBool, Shape{2, 1, 1}), t,
               Placeholder(root, DType::kF32, Shape{3, 1}))
            .shape()
            .ToString() == "[2,3,4]");
  CHECK(Select(root, Placeholder(root, DType::kBool), t, e).shape().unknown_rank());
  Output flags = Placeholder(root, DType::kBool, Shape{4});
  CHECK(Select(root, c, flags, flags).dtype() == DType::kBool);
  REQUIRE(root.ok());

  Select(root.WithOpName("sel"), Placeholder(root, DType::kBool, Shape{3}), t, e);
  CHECK_THAT(Message(root),
             Contains("sel (Select): condition: shapes cannot be broadcast: [3] vs [4]"));
  Scope branches = Scope::NewRootScope();
  Select(branches.WithOpName("sel"), Placeholder(branches, DType::kBool),
         Placeholder(branches, DType::kF32, Shape{2}),
         Placeholder(branches, DType::kF32, Shape{5}));
  CHECK_THAT(Message(branches),
             Contains("sel (Select): t and e: shapes cannot be broadcast: [2] vs [5]"));
  Scope condition = Scope::NewRootScope();
  Select(condition.WithOpName("s"), Placeholder(condition, DType::kF32), Const(condition, 1.0f),
         Const(condition, 1.0f));
  CHECK_THAT(Message(condition),
             Contains("s (Select): input 0 (condition) is f32 but should be bool"));
  Scope mixed = Scope::NewRootScope();
  Select(mixed.WithOpName("s"), Placeholder(mixed, DType::kBool), Const(mixed, 1.0f),
         Const(mixed, 1.0));
  CHECK_THAT(Message(mixed), Contains("s (Select): input 2 (e) is f64 but should be f32 (attr T)"));
}

TEST_CASE("Cast changes the dtype only") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kI64, Shape{kUnknownDim});
  Output y = Cast(root, x, DType::kF16);
  REQUIRE(root.ok());
  CHECK(y.node->name() == "Cast");
  CHECK(y.dtype() == DType::kF16);
  CHECK(y.shape().ToString() == "[?]");
  CHECK(y.node->attr("SrcT").dtype() == DType::kI64);
  CHECK(y.node->attr("DstT").dtype() == DType::kF16);
  CHECK_FALSE(y.node->attr("Truncate").b());
  CHECK(y.node->op_def().is_differentiable());
  Output flags = Cast(root, Placeholder(root, DType::kBool), DType::kF32);
  CHECK(flags.dtype() == DType::kF32);
  CHECK(flags.shape().unknown_rank());
  CHECK(Cast(root, Const(root, 1.0f), DType::kF32).dtype() == DType::kF32);
  CHECK(Cast(root, Const(root, 1.0f), DType::kBool).shape().ToString() == "[]");
  REQUIRE(root.ok());
}

TEST_CASE("Arithmetic operators build next to their left operand") {
  Scope root = Scope::NewRootScope();
  Scope layer = root.NewSubScope("layer");
  Output x = Placeholder(layer.WithOpName("x"), DType::kF64, Shape{2});
  Output y = Placeholder(root.WithOpName("y"), DType::kF64, Shape{2});
  Output sum = x + y;
  Output diff = x - y;
  Output prod = x * y;
  Output quot = x / y;
  Output neg = -x;
  REQUIRE(root.ok());
  CHECK(sum.node->op() == "Add");
  CHECK(sum.node->name() == "layer/Add");
  CHECK(sum.node->input(0) == x);
  CHECK(sum.node->input(1) == y);
  CHECK(diff.node->op() == "Sub");
  CHECK(prod.node->op() == "Mul");
  CHECK(quot.node->op() == "Div");
  CHECK(neg.node->op() == "Neg");
  CHECK(neg.node->name() == "layer/Neg");
  // The right operand's scope is used when the float comes first.
  CHECK((y - x).node->name() == "Sub");
}

TEST_CASE("A float operand becomes a scalar of the other operand's dtype") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF64, Shape{2});
  struct Case {
    Output out;
    const char* op;
    int const_input;
    double value;
  };
  const std::vector<Case> cases = {{x + 1.5f, "Add", 1, 1.5}, {x - 2.0f, "Sub", 1, 2.0},
                                   {x * 3.0f, "Mul", 1, 3.0}, {x / 4.0f, "Div", 1, 4.0},
                                   {0.5f + x, "Add", 0, 0.5}, {1.0f - x, "Sub", 0, 1.0},
                                   {2.0f * x, "Mul", 0, 2.0}, {8.0f / x, "Div", 0, 8.0}};
  REQUIRE(root.ok());
  for (const Case& c : cases) {
    INFO(c.op << " " << c.value);
    REQUIRE(c.out.valid());
    CHECK(c.out.node->op() == c.op);
    CHECK(c.out.shape().ToString() == "[2]");
    CHECK(c.out.node->input(1 - c.const_input) == x);
    const Output scalar = c.out.node->input(c.const_input);
    CHECK(scalar.node->op() == "Const");
    CHECK(scalar.dtype() == DType::kF64);
    CHECK(scalar.shape().ToString() == "[]");
    CHECK(scalar.node->output_value(0)->data<double>()[0] == c.value);
  }

  Output i = Placeholder(root.WithOpName("i"), DType::kI32, Shape{3});
  Output doubled = i * 2.0f;
  REQUIRE(root.ok());
  CHECK(doubled.dtype() == DType::kI32);
  CHECK(doubled.node->input(1).node->output_value(0)->data<int32_t>()[0] == 2);
  Output h = Placeholder(root.WithOpName("h"), DType::kF16, Shape{3});
  Output halved = h * 0.5f;
  REQUIRE(root.ok());
  CHECK(HalfToFloat(halved.node->input(1).node->output_value(0)->data<Half>()[0]) == 0.5f);

  // An integer tensor does not silently truncate the float.
  Output bad = i * 0.5f;
  CHECK_FALSE(bad.valid());
  CHECK(Message(root) == "operator* with i (i32): 0.5 is not exactly representable as i32");
  Scope bytes = Scope::NewRootScope();
  Output u = Placeholder(bytes.WithOpName("u"), DType::kU8, Shape{3});
  CHECK((u + 255.0f).valid());
  CHECK_FALSE((300.0f - u).valid());
  CHECK(Message(bytes) == "operator- with u (u8): 300 is not exactly representable as u8");
}

TEST_CASE("Operators on a null Output yield a null Output") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{2});
  const int nodes = root.graph()->num_nodes();
  CHECK_FALSE((Output() + x).valid());
  CHECK_FALSE((x + Output()).valid());
  CHECK_FALSE((Output() - x).valid());
  CHECK_FALSE((Output() * x).valid());
  CHECK_FALSE((Output() / x).valid());
  CHECK_FALSE((-Output()).valid());
  CHECK_FALSE((Output() + 1.0f).valid());
  CHECK_FALSE((Output() / 1.0f).valid());
  CHECK_FALSE((1.0f * Output()).valid());
  CHECK_FALSE((1.0f - Output()).valid());
  CHECK(root.graph()->num_nodes() == nodes);
}

TEST_CASE("After an error every later builder does nothing") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root, DType::kF32, Shape{2, 3});
  Output bad = MatMul(root.WithOpName("first"), a, a);
  CHECK_FALSE(bad.valid());
  const std::string first = "first (MatMul): inner dimensions differ: [2,3] vs [2,3]";
  CHECK(Message(root) == first);
  const int nodes = root.graph()->num_nodes();

  CHECK_FALSE(Add(root.WithOpName("second"), a, Placeholder(root, DType::kF32, Shape{7})).valid());
  CHECK_FALSE(Sum(root, a, {5}).valid());
  CHECK_FALSE(Mean(root, a, {0}, {.keep_dims = true}).valid());
  CHECK_FALSE(ArgMax(root, a, 9).valid());
  CHECK_FALSE(AddN(root, {a, a}).valid());
  CHECK_FALSE(AddN(root, {}).valid());
  CHECK_FALSE(Cast(root, a, DType::kI32).valid());
  CHECK_FALSE(Select(root, Placeholder(root, DType::kBool), a, a).valid());
  CHECK_FALSE(BatchMatMul(root, a, a).valid());
  CHECK_FALSE(Exp(root, a).valid());
  CHECK_FALSE((a + a).valid());
  CHECK_FALSE((a * 2.0f).valid());
  CHECK_FALSE((3.0f - a).valid());
  CHECK_FALSE((-a).valid());
  // No node was added (not even the Consts for axes or scalars) and the first
  // error is the one kept.
  CHECK(root.graph()->num_nodes() == nodes);
  CHECK(Message(root) == first);
}

TEST_CASE("A null input makes a builder return null without a new error") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root, DType::kF32, Shape{2});
  CHECK_FALSE(Add(root, a, Output()).valid());
  CHECK_FALSE(Sum(root, Output(), {0}).valid());
  CHECK_FALSE(ArgMax(root, Output(), 0).valid());
  CHECK_FALSE(MatMul(root, Output(), a).valid());
  CHECK(root.graph()->num_nodes() == 1);
  CHECK(root.ok());
}

}  // namespace
}  // namespace sluice
