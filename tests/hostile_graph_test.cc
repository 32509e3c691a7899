// Hostile graphs and tensors: each ends in one error that names the node at
// fault, never a crash, an abort or an attempt to allocate absurd memory.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "graph/graph_io.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "runtime/session.h"
#include "tests/temp_dir.h"

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
         message.find("a (Neg)") != std::string::npos ||
         message.find("b (Neg)") != std::string::npos));
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
  const std::string text =
      NodeText("neg", "Placeholder", {},
               "attr { key: \"dtype\" value { type: DT_FLOAT } } "
               "attr { key: \"shape\" value { shape { dim { size: -7 } } } } ");
  auto graph = ParseGraph(text, GraphFileFormat::kText);
  REQUIRE_FALSE(graph.ok());
  CHECK_THAT(Message(graph.status()), Contains("neg"));
  CHECK_THAT(Message(graph.status()), Contains("-7"));
}

TEST_CASE(
    "OneHot follows TensorFlow: out-of-range indices are off rows, a bad depth names the node") {
  // TensorFlow's OneHot defines out-of-range indices (negative or >= depth)
  // as all-off rows rather than an error, and Sluice keeps that meaning.
  Scope root = Scope::NewRootScope();
  Output indices = Placeholder(root.WithOpName("indices"), DType::kI32, Shape{3});
  OneHot(root.WithOpName("hot"), indices, 3, Const(root, 1.0f), Const(root, 0.0f));
  REQUIRE(root.ok());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  auto fed = Tensor::FromVector<int32_t>({1, 3, -1}, Shape{3});
  auto out = (*session)->Run({{"indices", *fed}}, {"hot"});
  REQUIRE(out.ok());
  CHECK((*out)[0].ToVector<float>() == std::vector<float>{0, 1, 0, 0, 0, 0, 0, 0, 0});

  Scope negative = Scope::NewRootScope();
  OneHot(negative.WithOpName("negative_depth"), Const(negative, std::vector<int32_t>{0, 1}), -3,
         Const(negative, 1.0f), Const(negative, 0.0f));
  REQUIRE_FALSE(negative.ok());
  CHECK_THAT(Message(negative.status()), Contains("negative_depth"));
  CHECK_THAT(Message(negative.status()), Contains("depth must be non-negative, got -3"));

  // 2^33 indices times a depth of 2^32 overflows int64.
  Scope huge = Scope::NewRootScope();
  Output many = Placeholder(huge.WithOpName("many"), DType::kI32, Shape{int64_t{1} << 33});
  OneHot(huge.WithOpName("too_deep"), many, int64_t{1} << 32, Const(huge, 1.0f), Const(huge, 0.0f));
  REQUIRE_FALSE(huge.ok());
  CHECK_THAT(Message(huge.status()), Contains("too_deep"));
}

TEST_CASE("Mismatched dimensions between inputs are load errors naming the node and shapes") {
  const std::string text =
      NodeText("a", "Placeholder", {},
               "attr { key: \"dtype\" value { type: DT_FLOAT } } "
               "attr { key: \"shape\" value { shape { dim { size: 2 } dim { size: 3 } } } } ") +
      NodeText("product", "MatMul", {"a", "a"}, kFloatT);
  auto graph = ParseGraph(text, GraphFileFormat::kText);
  REQUIRE_FALSE(graph.ok());
  CHECK_THAT(Message(graph.status()), Contains("product"));
  CHECK_THAT(Message(graph.status()), Contains("[2,3]"));
}

TEST_CASE("Deeply nested and oversized text graphs are load errors, not stack overflows") {
  // The GraphDef schema nests at most a few levels, so deep text is refused
  // at the second level; the parser's recursion limit backs that up for
  // anything it would descend into.
  std::string nested;
  for (int i = 0; i < 100000; ++i) nested += "node { ";
  auto deep = ParseGraph(nested, GraphFileFormat::kText);
  REQUIRE_FALSE(deep.ok());
  CHECK_THAT(
      Message(deep.status()),
      Contains(
          "line 1, column 13: Message type \"sluice.proto.NodeDef\" has no field named \"node\""));

  std::string bracketed;
  for (int i = 0; i < 100000; ++i) bracketed += "node < attr < value < list < ";
  auto angled = ParseGraph(bracketed, GraphFileFormat::kText);
  REQUIRE_FALSE(angled.ok());
  CHECK_THAT(Message(angled.status()), Contains("not a valid text GraphDef"));

  // A file over the 1 GiB limit is refused from its size, before it is read
  // (a sparse file, so the test writes nothing).
  testing::TempDir dir;
  const std::string path = dir.Path("huge.pbtxt");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, (int64_t{1} << 30) + 1) == 0);
  ::close(fd);
  auto huge = LoadGraph(path);
  REQUIRE_FALSE(huge.ok());
  CHECK_THAT(Message(huge.status()), Contains("huge.pbtxt: the file is 1073741825 bytes"));
  CHECK_THAT(Message(huge.status()), Contains("limited to 1073741824"));
}

}  // namespace
}  // namespace sluice
