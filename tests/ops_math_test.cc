// Shape and dtype inference of the math ops, and their errors.
#include <catch2/catch.hpp>

#include "graph/ops/math.h"
#include "graph/ops/state.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

std::string Message(const Scope& s) { return std::string(s.status().message()); }

TEST_CASE("Binary arithmetic broadcasts shapes and infers T") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root, DType::kF32, Shape{kUnknownDim, 1, 3});
  Output b = Placeholder(root, DType::kF32, Shape{4, 1});
  for (auto op : {Add, Sub, Mul, Div, Pow, Maximum, Minimum}) {
    Output y = op(root, a, b);
    REQUIRE(root.ok());
    CHECK(y.shape().ToString() == "[?,4,3]");
    CHECK(y.dtype() == DType::kF32);
    CHECK(y.node->attr("T").dtype() == DType::kF32);
    CHECK(y.node->op_def().is_differentiable());
  }
  Output unknown = Placeholder(root, DType::kF32);
  CHECK(Add(root, a, unknown).shape().unknown_rank());
  Output scalar = Const(root, 2.0f);
  CHECK(Mul(root, a, scalar).shape().ToString() == "[?,1,3]");
}

TEST_CASE("Binary arithmetic rejects incompatible shapes and mixed dtypes") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root, DType::kF32, Shape{2, 3});
  Output b = Placeholder(root, DType::kF32, Shape{4});
  Add(root.WithOpName("bad_add"), a, b);
  CHECK_THAT(Message(root),
             Contains("bad_add (Add): shapes cannot be broadcast: [2,3] vs [4]"));

  Scope other = Scope::NewRootScope();
  Output f = Placeholder(other, DType::kF32, Shape{2});
  Output d = Placeholder(other, DType::kF64, Shape{2});
  Mul(other.WithOpName("mixed"), f, d);
  CHECK_THAT(Message(other), Contains("mixed (Mul): input 1 (y) is f64 but should be f32 (attr T)"));

  Scope third = Scope::NewRootScope();
  Output flags = Placeholder(third, DType::kBool, Shape{2});
  Add(third.WithOpName("bools"), flags, flags);
  CHECK_THAT(Message(third), Contains("bools (Add): attr 'T' = bool is not allowed"));
}

TEST_CASE("AddN merges its inputs' shapes") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root, DType::kF32, Shape{kUnknownDim, 3});
  Output b = Placeholder(root, DType::kF32, Shape{2, kUnknownDim});
  Output sum = AddN(root, {a, b, a});
  REQUIRE(root.ok());
  CHECK(sum.shape().ToString() == "[2,3]");
  CHECK(sum.node->attr("N").i() == 3);

  Output c = Placeholder(root, DType::kF32, Shape{2, 4});
  AddN(root.WithOpName("bad"), {a, c, b});
  CHECK_THAT(Message(root),
             Contains("bad (AddN): inputs must have the same shape: [?,3] vs [2,4] (input 1)"));
  Scope empty = Scope::NewRootScope();
  AddN(empty, {});
  CHECK_THAT(Message(empty), Contains("AddN needs at least one input"));
}

TEST_CASE("Unary math keeps the shape and checks the dtype") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF64, Shape{kUnknownDim, 7});
  for (auto op : {Neg, Square, Abs, Sqrt, Rsqrt, Exp, Log}) {
    Output y = op(root, x);
    REQUIRE(root.ok());
    CHECK(y.shape().ToString() == "[?,7]");
    CHECK(y.dtype() == DType::kF64);
  }
  Output i = Placeholder(root, DType::kI32, Shape{3});
  CHECK(Neg(root, i).dtype() == DType::kI32);
  Exp(root.WithOpName("int_exp"), i);
  CHECK_THAT(Message(root), Contains("int_exp (Exp): attr 'T' = i32 is not allowed; allowed: f32, "
                                     "f64, f16, bf16"));
}

TEST_CASE("MatMul infers [M,N] and names both shapes on a mismatch") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 784});
  Output w = Placeholder(root, DType::kF32, Shape{784, 256});
  CHECK(MatMul(root, x, w).shape().ToString() == "[?,256]");
  Output wt = Placeholder(root, DType::kF32, Shape{256, 784});
  CHECK(MatMul(root, x, wt, {.transpose_b = true}).shape().ToString() == "[?,256]");
  Output xt = Placeholder(root, DType::kF32, Shape{784, 5});
  CHECK(MatMul(root, xt, w, {.transpose_a = true}).shape().ToString() == "[5,256]");
  CHECK(MatMul(root, x, Placeholder(root, DType::kF32)).shape().ToString() == "[?,?]");
  REQUIRE(root.ok());

  Scope dense = root.NewSubScope("dense");
  Output bad_w = Placeholder(root, DType::kF32, Shape{100, 10});
  MatMul(dense, x, bad_w);
  CHECK_THAT(Message(root),
             Contains("dense/MatMul (MatMul): inner dimensions differ: [?,784] vs [100,10]"));

  Scope rank = Scope::NewRootScope();
  MatMul(rank.WithOpName("mm"), Placeholder(rank, DType::kF32, Shape{3}),
         Placeholder(rank, DType::kF32, Shape{3, 3}));
  CHECK_THAT(Message(rank), Contains("mm (MatMul): a must have rank 2, got [3]"));
}

TEST_CASE("BatchMatMul broadcasts batch dims") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 1, 3, 4});
  Output y = Placeholder(root, DType::kF32, Shape{5, 4, 6});
  CHECK(BatchMatMul(root, x, y).shape().ToString() == "[?,5,3,6]");
  Output yt = Placeholder(root, DType::kF32, Shape{5, 6, 4});
  CHECK(BatchMatMul(root, x, yt, {.adj_y = true}).shape().ToString() == "[?,5,3,6]");
  REQUIRE(root.ok());
  BatchMatMul(root.WithOpName("bmm"), x, Placeholder(root, DType::kF32, Shape{2, 5, 6}));
  CHECK_THAT(Message(root), Contains("bmm (BatchMatMul): inner dimensions differ: [?,1,3,4] vs "
                                     "[2,5,6]"));
  Scope batch = Scope::NewRootScope();
  BatchMatMul(batch.WithOpName("b"), Placeholder(batch, DType::kF32, Shape{2, 3, 4}),
              Placeholder(batch, DType::kF32, Shape{3, 4, 5}));
  CHECK_THAT(Message(batch), Contains("b (BatchMatMul): batch dimensions cannot be broadcast"));
}

TEST_CASE("Reductions follow the axes and keep_dims") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 3, 4});
  CHECK(Sum(root, x, {1}).shape().ToString() == "[?,4]");
  CHECK(Mean(root, x, {-1, 0}).shape().ToString() == "[3]");
  CHECK(Max(root, x, {1}, {.keep_dims = true}).shape().ToString() == "[?,1,4]");
  CHECK(Min(root, x, std::vector<int64_t>{}).shape().ToString() == "[?,3,4]");
  CHECK(Prod(root, x, {0, 1, 2}).shape().ToString() == "[]");
  Output axes = Placeholder(root, DType::kI32, Shape{1});
  CHECK(Sum(root, x, axes).shape().unknown_rank());
  CHECK(Sum(root, x, axes, {.keep_dims = true}).shape().ToString() == "[?,?,?]");
  Output scalar_axis = Const(root, int32_t{2});
  CHECK(Sum(root, x, scalar_axis).shape().ToString() == "[?,3]");
  REQUIRE(root.ok());
  CHECK(Sum(root, x, {1}).node->attr("Tidx").dtype() == DType::kI32);

  Sum(root.WithOpName("far"), x, {3});
  CHECK_THAT(Message(root), Contains("far (Sum): reduction axis 3 is out of range for input of "
                                     "shape [?,3,4]"));
  Scope dup = Scope::NewRootScope();
  Mean(dup.WithOpName("twice"), Placeholder(dup, DType::kF32, Shape{2, 2}), {1, -1});
  CHECK_THAT(Message(dup), Contains("twice (Mean): reduction axis -1 is repeated in [1,-1]"));
}

TEST_CASE("ArgMax drops the dimension and yields indices") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 10});
  Output i = ArgMax(root, x, 1);
  CHECK(i.shape().ToString() == "[?]");
  CHECK(i.dtype() == DType::kI64);
  CHECK(ArgMax(root, x, int64_t{0}, DType::kI32).dtype() == DType::kI32);
  CHECK_FALSE(i.node->op_def().is_differentiable());
  REQUIRE(root.ok());
  ArgMax(root.WithOpName("am"), x, 2);
  CHECK_THAT(Message(root), Contains("am (ArgMax): reduction axis 2 is out of range"));
}

TEST_CASE("Comparisons and logic yield bools") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root, DType::kI32, Shape{kUnknownDim, 3});
  Output b = Const(root, int32_t{1});
  for (auto op : {Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual}) {
    Output y = op(root, a, b);
    CHECK(y.dtype() == DType::kBool);
    CHECK(y.shape().ToString() == "[?,3]");
  }
  Output p = Placeholder(root, DType::kBool, Shape{3});
  CHECK(LogicalAnd(root, p, Placeholder(root, DType::kBool, Shape{2, 1})).shape().ToString() ==
        "[2,3]");
  CHECK(LogicalOr(root, p, p).dtype() == DType::kBool);
  CHECK(LogicalNot(root, p).shape().ToString() == "[3]");
  CHECK(Equal(root, p, p).dtype() == DType::kBool);  // bools compare for equality
  REQUIRE(root.ok());
  LogicalAnd(root.WithOpName("and"), a, a);
  CHECK_THAT(Message(root), Contains("and (LogicalAnd): input 0 (x) is i32 but should be bool"));
  Scope less = Scope::NewRootScope();
  Less(less.WithOpName("lt"), Placeholder(less, DType::kBool), Placeholder(less, DType::kBool));
  CHECK_THAT(Message(less), Contains("lt (Less): attr 'T' = bool is not allowed"));
}

TEST_CASE("Select broadcasts all three inputs") {
  Scope root = Scope::NewRootScope();
  Output c = Placeholder(root, DType::kBool, Shape{kUnknownDim, 1});
  Output t = Placeholder(root, DType::kF32, Shape{4});
  Output e = Const(root, 0.0f);
  Output y = Select(root, c, t, e);
  REQUIRE(root.ok());
  CHECK(y.shape().ToString() == "[?,4]");
  Select(root.WithOpName("sel"), Placeholder(root, DType::kBool, Shape{3}), t, e);
  CHECK_THAT(Message(root), Contains("sel (Select): condition: shapes cannot be broadcast: [3] vs [4]"));
  Scope types = Scope::NewRootScope();
  Select(types.WithOpName("s"), Placeholder(types, DType::kF32), Const(types, 1.0f),
         Const(types, 1.0f));
  CHECK_THAT(Message(types), Contains("s (Select): input 0 (condition) is f32 but should be bool"));
}

TEST_CASE("Cast changes the dtype only") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kI64, Shape{kUnknownDim});
  Output y = Cast(root, x, DType::kF16);
  REQUIRE(root.ok());
  CHECK(y.dtype() == DType::kF16);
  CHECK(y.shape().ToString() == "[?]");
  CHECK(y.node->attr("SrcT").dtype() == DType::kI64);
  CHECK(y.node->attr("DstT").dtype() == DType::kF16);
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
  Output scaled = x * 2.0f;
  Output shifted = 1.0f - y;
  REQUIRE(root.ok());
  CHECK(sum.node->op() == "Add");
  CHECK(sum.node->name() == "layer/Add");
  CHECK(diff.node->op() == "Sub");
  CHECK(prod.node->op() == "Mul");
  CHECK(quot.node->op() == "Div");
  CHECK(neg.node->op() == "Neg");
  CHECK(scaled.node->op() == "Mul");
  // The float becomes a constant of the other operand's dtype.
  CHECK(scaled.node->input(1).dtype() == DType::kF64);
  CHECK(scaled.node->input(1).node->output_value(0)->data<double>()[0] == 2.0);
  CHECK(shifted.node->op() == "Sub");
  CHECK(shifted.node->input(0).node->output_value(0)->data<double>()[0] == 1.0);
  CHECK((Output() + y).valid() == false);
}

TEST_CASE("After an error every later builder does nothing") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root, DType::kF32, Shape{2, 3});
  Output bad = MatMul(root.WithOpName("first"), a, a);
  CHECK_FALSE(bad.valid());
  const int nodes = root.graph()->num_nodes();
  Output later = Add(root.WithOpName("second"), a, Placeholder(root, DType::kF32, Shape{7}));
  CHECK_FALSE(later.valid());
  CHECK(root.graph()->num_nodes() == nodes);
  CHECK_THAT(Message(root), Contains("first (MatMul)"));
}

}  // namespace
}  // namespace sluice
