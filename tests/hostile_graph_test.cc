// Hostile graphs and tensors: each ends in one error that names the node at
// fault, never a crash, an abort or an attempt to allocate absurd memory.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "graph/graph_io.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "runtime/session.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Runs `fetch` of the graph `root` built, feeding nothing.
absl::Status RunFetch(const Scope& root, const std::string& fetch, const FeedList& feeds = {}) {
  if (!root.ok()) return root.status();
  auto session = Session::Create(*root.graph());
  if (!session.ok()) return session.status();
  return (*session)->Run(feeds, {fetch}).status();
}

TEST_CASE("Shapes whose element count overflows int64 are errors naming the node") {
  Scope root = Scope::NewRootScope();
  const int64_t big = int64_t{1} << 40;
  Variable(root.WithOpName("huge"), Shape{big, big}, DType::kF32,
           Const(root, std::vector<float>{1}, Shape{1}));
  REQUIRE_FALSE(root.ok());
  CHECK_THAT(Message(root.status()), Contains("huge"));

  // A Fill to a shape of 2^84 elements.
  Scope fill_root = Scope::NewRootScope();
  Fill(fill_root.WithOpName("filled"), std::vector<int64_t>{big, big, 16}, Const(fill_root, 1.0f));
  absl::Status status = RunFetch(fill_root, "filled");
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(Message(status), Contains("filled"));
}

TEST_CASE("A plan larger than memory is ResourceExhausted, not an allocation attempt") {
  Scope root = Scope::NewRootScope();
  // 2^50 floats: 4 PiB.
  Output filled = Fill(root.WithOpName("filled"),
                       std::vector<int64_t>{int64_t{1} << 25, int64_t{1} << 25}, Const(root, 1.0f));
  Sum(root.WithOpName("total"), filled, {0, 1});
  REQUIRE(root.ok());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  absl::Status status = (*session)->Run(FeedList{}, {"total"}).status();
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(Message(status), Contains("filled:0"));
}

TEST_CASE("Reshape to an incompatible size names the node and both shapes") {
  Scope root = Scope::NewRootScope();
  Output x = Const(root.WithOpName("x"), std::vector<float>{1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Reshape(root.WithOpName("bad_reshape"), x, std::vector<int64_t>{4, 2});
  REQUIRE_FALSE(root.ok());
  CHECK_THAT(Message(root.status()), Contains("bad_reshape"));
  CHECK_THAT(Message(root.status()), Contains("[2,3]"));
}

TEST_CASE("Out-of-range Gather indices are an error in TensorFlow's words") {
  Scope root = Scope::NewRootScope();
  Output params = Const(root.WithOpName("params"), std::vector<float>(10, 1.0f), Shape{10});
  Output indices = Placeholder(root.WithOpName("indices"), DType::kI32, Shape{4});
  Gather(root.WithOpName("gathered"), params, indices);
  auto bad = Tensor::FromVector<int32_t>({0, 1, 2, 12}, Shape{4});
  absl::Status status = RunFetch(root, "gathered", {{"indices", *bad}});
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(Message(status), Contains("gathered"));
  CHECK_THAT(Message(status), Contains("indices[3] = 12 is not in [0, 10)"));
  auto negative = Tensor::FromVector<int32_t>({-1, 1, 2, 3}, Shape{4});
  status = RunFetch(root, "gathered", {{"indices", *negative}});
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(Message(status), Contains("indices[0] = -1 is not in [0, 10)"));
}

TEST_CASE("A slice past the end of its input names the node") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim});
  Slice(root.WithOpName("sliced"), x, std::vector<int64_t>{2}, std::vector<int64_t>{5});
  REQUIRE(root.ok());
  Tensor four(DType::kF32, Shape{4});
  for (int i = 0; i < 4; ++i) four.data<float>()[i] = static_cast<float>(i);
  absl::Status status = RunFetch(root, "sliced", {{"x", four}});
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(Message(status), Contains("sliced"));
}

TEST_CASE("Integer division by zero is an error naming the node") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root.WithOpName("a"), DType::kI32, Shape{3});
  Output b = Placeholder(root.WithOpName("b"), DType::kI32, Shape{3});
  Div(root.WithOpName("quotient"), a, b);
  auto av = Tensor::FromVector<int32_t>({4, 5, 6}, Shape{3});
  auto bv = Tensor::FromVector<int32_t>({1, 0, 2}, Shape{3});
  absl::Status status = RunFetch(root, "quotient", {{"a", *av}, {"b", *bv}});
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(Message(status), Contains("quotient"));
  CHECK_THAT(Message(status), Contains("division by zero"));
}

// A node of a text GraphDef.
std::string NodeText(const std::string& name, const std::string& op,
                     const std::vector<std::string>& inputs, const std::string& attrs) {
  std::string text = "node { name: \"" + name + "\" op: \"" + op + "\" ";
  for (const std::string& in : inputs) text += "input: \"" + in + "\" ";
  return text + attrs + "}\n";
}

const char kFloatT[] = "attr { key: \"T\" value { type: DT_FLOAT } } ";

TEST_CASE("A cycle through a control input is a load error naming a node on it") {
  const std::string text =
      NodeText("x", "Placeholder", {},
               "attr { key: \"dtype\" value { type: DT_FLOAT } } "
               "attr { key: \"shape\" value { shape { dim { size: 2 } } } } ") +
      NodeText("a", "Neg", {"x", "^b"}, kFloatT) + NodeText("b", "Neg", {"a"}, kFloatT);
  auto graph = ParseGraph(text, GraphFileFormat::kText);
  REQUIRE_FALSE(graph.ok());
  const std::string message = Message(graph.status());
  CHECK_THAT(message, Contains("cycle"));
  CHECK((message.find("'a'") != std::string::npos || message.find("'b'") != std::string::npos ||
         message.find("a (Neg)") != std::string::npos || message.find("b (Neg)") != std::string::npos));
}

TEST_CASE("A Const whose tensor data is shorter than its shape is a load error naming it") {
  const std::string text = NodeText(
      "short", "Const", {},
      "attr { key: \"dtype\" value { type: DT_FLOAT } } "
      "attr { key: \"value\" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 4 } } "
      "tensor_content: \"\\000\\000\\200?\\000\\000\\000@\" } } } ");
  auto graph = ParseGraph(text, GraphFileFormat::kText);
  REQUIRE_FALSE(graph.ok());
  CHECK_THAT(Message(graph.status()), Contains("short"));
}

TEST_CASE("Negative dimensions in attributes are load errors naming the node") {
  const std::string text = NodeText(
      "neg", "Placeholder", {},
      "attr { key: \"dtype\" value { type: DT_FLOAT } } "
      "attr { key: \"shape\" value { shape { dim { size: -7 } } } } ");
  auto graph = ParseGraph(text, GraphFileFormat::kText);
  REQUIRE_FALSE(graph.ok());
  CHECK_THAT(Message(graph.status()), Contains("neg"));
  CHECK_THAT(Message(graph.status()), Contains("-7"));
}

}  // namespace
}  // namespace sluice
