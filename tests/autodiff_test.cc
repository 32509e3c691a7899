// AddGradients: what it adds to a graph and the values those nodes compute.
#include <catch2/catch.hpp>

#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "passes/autodiff/gradients.h"
#include "runtime/session.h"

namespace sluice {
namespace {

std::vector<double> Values(const Tensor& t) {
  std::vector<double> v(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.ElementAsDouble(i);
  return v;
}

Tensor Matrix(const std::vector<double>& values, const Shape& shape) {
  auto t = Tensor::FromVector(values, shape);
  REQUIRE(t.ok());
  return *t;
}

// Runs `fetches` with `feeds` in a fresh session of the scope's graph.
std::vector<Tensor> Run(const Scope& root, const std::vector<std::pair<Output, Tensor>>& feeds,
                        const std::vector<Output>& fetches) {
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  auto result = (*session)->Run(feeds, fetches);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *result;
}

TEST_CASE("AddGradients of a polynomial") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF64, Shape{});
  // y = x^2 + 3x: dy/dx = 2x + 3 = 7 at x = 2.
  Output y = Add(root, Mul(root, x, x), Mul(root, Const(root, 3.0), x));
  auto grads = AddGradients(root, {y}, {x});
  REQUIRE(grads.ok());
  REQUIRE(grads->size() == 1);
  const auto out = Run(root, {{x, Tensor::Scalar(2.0)}}, {(*grads)[0]});
  CHECK(Values(out[0]) == std::vector<double>{7.0});
  // The new nodes live under "gradients/".
  CHECK((*grads)[0].node->name().rfind("gradients/", 0) == 0);
}

TEST_CASE("AddGradients sums the gradients of an output used several times") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF64, Shape{2});
  // y = sum(x + x + x * x): dy/dx = 2 + 2x.
  Output y = Sum(root, AddN(root, {x, x, Mul(root, x, x)}), {0});
  auto grads = AddGradients(root, {y}, {x});
  REQUIRE(grads.ok());
  const auto out = Run(root, {{x, Tensor::FromVector(std::vector<double>{1.0, -4.0})}},
                       {(*grads)[0]});
  CHECK(Values(out[0]) == std::vector<double>{4.0, -6.0});
}

TEST_CASE("AddGradients returns a null Output for an x no y depends on") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Output unused = Placeholder(root.WithOpName("unused"), DType::kF32, Shape{2});
  Output y = Sum(root, Square(root, x), {0});
  // Through an integer tensor no gradient flows either.
  Output through_int = Cast(root, ArgMax(root, unused, 0), DType::kF32);
  auto grads = AddGradients(root, {y, through_int}, {x, unused});
  REQUIRE(grads.ok());
  CHECK((*grads)[0].valid());
  CHECK_FALSE((*grads)[1].valid());
}

TEST_CASE("StopGradient cuts the path") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF64, Shape{});
  // y = x * stop(x): dy/dx = stop(x) = x, not 2x.
  Output y = Mul(root, x, StopGradient(root, x));
  auto grads = AddGradients(root, {y}, {x});
  REQUIRE(grads.ok());
  CHECK(Values(Run(root, {{x, Tensor::Scalar(5.0)}}, {(*grads)[0]})[0]) ==
        std::vector<double>{5.0});
  // A path that only goes through StopGradient gives no gradient at all.
  auto none = AddGradients(root, {StopGradient(root, Square(root, x))}, {x});
  REQUIRE(none.ok());
  CHECK_FALSE((*none)[0].valid());
}

TEST_CASE("Broadcast gradients are summed back to each input's shape") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF64, Shape{3, 2});
  Output b = Placeholder(root.WithOpName("b"), DType::kF64, Shape{2});
  Output c = Placeholder(root.WithOpName("c"), DType::kF64, Shape{});
  Output y = Sum(root, Mul(root, Add(root, x, b), c), {0, 1});
  auto grads = AddGradients(root, {y}, {x, b, c});
  REQUIRE(grads.ok());
  Tensor xv = Matrix({1, 2, 3, 4, 5, 6}, Shape{3, 2});
  const auto out = Run(root,
                       {{x, xv}, {b, Tensor::FromVector(std::vector<double>{10, 20})},
                        {c, Tensor::Scalar(2.0)}},
                       *grads);
  CHECK(out[0].shape() == Shape{3, 2});
  CHECK(Values(out[0]) == std::vector<double>(6, 2.0));
  CHECK(out[1].shape() == Shape{2});
  CHECK(Values(out[1]) == std::vector<double>{6.0, 6.0});
  CHECK(out[2].shape() == Shape{});
  // sum(x + b) = 21 + 3 * 30 = 111.
  CHECK(Values(out[2]) == std::vector<double>{111.0});
}

TEST_CASE("Gradients work with an unknown batch dimension") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF64, Shape{kUnknownDim, 2});
  Output w = Const(root, std::vector<double>{1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Output b = Const(root, std::vector<double>{0.5, -0.5, 1}, Shape{3});
  // loss = mean(relu(x w + b)); gradient w.r.t. w and b needs the batch size.
  Output h = Relu(root, BiasAdd(root, MatMul(root, x, w), b));
  Output loss = Mean(root, h, {0, 1});
  auto grads = AddGradients(root, {loss}, {x, w, b});
  REQUIRE(grads.ok());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  for (int64_t batch : {1, 4}) {
    std::vector<double> xs(batch * 2, 1.0);
    auto out = (*session)->Run(std::vector<std::pair<Output, Tensor>>{{x, Matrix(xs, Shape{batch, 2})}},
                               std::vector<Output>{(*grads)[0], (*grads)[1], (*grads)[2]});
    REQUIRE(out.ok());
    // Every unit is active (x w + b > 0 for x = 1), so db = 1 / (3 batch)
    // summed over the batch = 1/3 and dw[i][j] = sum_b x / (3 batch) = 1/3.
    CHECK((*out)[0].shape() == Shape{batch, 2});
    for (double v : Values((*out)[1])) CHECK(v == Approx(1.0 / 3));
    for (double v : Values((*out)[2])) CHECK(v == Approx(1.0 / 3));
    // dx[b][i] = sum_j w[i][j] / (3 batch).
    const std::vector<double> dx = Values((*out)[0]);
    CHECK(dx[0] == Approx(6.0 / (3.0 * batch)));
    CHECK(dx[1] == Approx(15.0 / (3.0 * batch)));
  }
}

TEST_CASE("Gradients can be differentiated again") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF64, Shape{});
  // y = x^3: y' = 3x^2, y'' = 6x.
  Output y = Mul(root, Mul(root, x, x), x);
  auto first = AddGradients(root, {y}, {x});
  REQUIRE(first.ok());
  auto second = AddGradients(root, {(*first)[0]}, {x});
  REQUIRE(second.ok());
  const auto out = Run(root, {{x, Tensor::Scalar(2.0)}}, {(*first)[0], (*second)[0]});
  CHECK(Values(out[0]) == std::vector<double>{12.0});
  CHECK(Values(out[1]) == std::vector<double>{12.0});
  // Sigmoid's gradient op has no gradient of its own: the error names it.
  Output s = Sigmoid(root.WithOpName("s"), x);
  auto ds = AddGradients(root, {s}, {x});
  REQUIRE(ds.ok());
  auto dds = AddGradients(root, {(*ds)[0]}, {x});
  REQUIRE_FALSE(dds.ok());
  CHECK(dds.status().code() == absl::StatusCode::kUnimplemented);
  CHECK_THAT(std::string(dds.status().message()),
             Catch::Contains("op type SigmoidGrad (node 'gradients_2/s_grad/SigmoidGrad')"));
}

TEST_CASE("A missing gradient on the path names the op type and the node") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{3});
  Output ids = Const(root, std::vector<int32_t>{0, 1, 0});
  Output seg = UnsortedSegmentSum(root.WithOpName("segments"), x, ids, IndexScalar(root, 2));
  Output y = Sum(root, seg, {0});
  auto grads = AddGradients(root, {y}, {x});
  REQUIRE_FALSE(grads.ok());
  CHECK(std::string(grads.status().message()) ==
        "no gradient is defined for op type UnsortedSegmentSum (node 'segments'), which lies "
        "between the xs and the ys");
}

TEST_CASE("grad_ys weight each y, and several ys add up") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF64, Shape{2});
  Output y1 = Mul(root, x, Const(root, 3.0));
  Output y2 = Square(root, x);
  Output w1 = Const(root, std::vector<double>{1, 10}, Shape{2});
  Output w2 = Const(root, std::vector<double>{0.5, 0}, Shape{2});
  auto grads = AddGradients(root, {y1, y2}, {x}, {w1, w2});
  REQUIRE(grads.ok());
  // d/dx (w1 . 3x + w2 . x^2) = 3 w1 + 2 x w2.
  const auto out = Run(root, {{x, Tensor::FromVector(std::vector<double>{2, 7})}}, *grads);
  CHECK(Values(out[0]) == std::vector<double>{5.0, 30.0});
}

TEST_CASE("AddGradients rejects bad arguments with a clear error") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Output y = Square(root.WithOpName("y"), x);
  auto message = [](const absl::StatusOr<std::vector<Output>>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(r.status().message());
  };
  CHECK(message(AddGradients(root, {}, {x})) == "AddGradients needs at least one y");
  CHECK(message(AddGradients(root, {y}, {Output()})) == "xs[0] is null");
  CHECK(message(AddGradients(root, {y}, {x}, {y, y})) ==
        "grad_ys has 2 entries but ys has 1");
  Output wrong = Const(root.WithOpName("wrong"), std::vector<double>{1, 2}, Shape{2});
  CHECK(message(AddGradients(root, {y}, {x}, {wrong})) ==
        "grad_ys[0] wrong is f64[2] but ys[0] y is f32[2]");
  Output count = Size(root.WithOpName("count"), x);
  CHECK(message(AddGradients(root, {count}, {x})) ==
        "ys[0] count is i32; only floating-point tensors have gradients");
  Scope other = Scope::NewRootScope();
  Output foreign = Placeholder(other.WithOpName("foreign"), DType::kF32, Shape{2});
  CHECK(message(AddGradients(root, {y}, {foreign})) ==
        "xs[0] foreign belongs to another graph than the scope's");
}

}  // namespace
}  // namespace sluice
