// Graph files: round trips, tensors, and every load-time validation error.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "google/protobuf/text_format.h"
#include "graph/graph_io.h"
#include "graph/ops/state.h"
#include "tests/every_op_graph.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

std::string TempPath(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "sluice_graph_io_test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Parses a .pbtxt text and builds the graph.
absl::StatusOr<std::unique_ptr<Graph>> FromText(const std::string& text) {
  return ParseGraph(text, GraphFileFormat::kText);
}

std::string LoadError(const std::string& text) {
  auto g = FromText(text);
  REQUIRE_FALSE(g.ok());
  return std::string(g.status().message());
}

// Structural equality: names, ops, inputs, control inputs, devices, attrs and
// inferred shapes, in id order.
void RequireSameGraph(const Graph& a, const Graph& b) {
  REQUIRE(a.num_nodes() == b.num_nodes());
  for (Node* n : a.nodes()) {
    INFO(n->name());
    Node* m = b.FindNode(n->name());
    REQUIRE(m != nullptr);
    CHECK(m->op() == n->op());
    CHECK(m->device() == n->device());
    REQUIRE(m->num_inputs() == n->num_inputs());
    for (int i = 0; i < n->num_inputs(); ++i) CHECK(m->input(i).name() == n->input(i).name());
    REQUIRE(m->control_inputs().size() == n->control_inputs().size());
    for (size_t i = 0; i < n->control_inputs().size(); ++i) {
      CHECK(m->control_inputs()[i]->name() == n->control_inputs()[i]->name());
    }
    CHECK(m->attrs() == n->attrs());
    for (int i = 0; i < n->num_outputs(); ++i) {
      CHECK(m->output_shape(i) == n->output_shape(i));
      CHECK(m->output_dtype(i) == n->output_dtype(i));
    }
  }
}

TEST_CASE("The every-op graph holds every registered op") {
  Scope root = testing::BuildEveryOpGraph();
  INFO(root.status().message());
  REQUIRE(root.ok());
  std::set<std::string> used;
  for (Node* n : root.graph()->nodes()) used.insert(n->op());
  for (const OpDef* op : OpRegistry::Global().ListOps()) {
    INFO("op without coverage in tests/every_op_graph.cc: " << op->name());
    CHECK(used.count(op->name()) == 1);
  }
}

TEST_CASE("Graph -> file -> graph -> file gives identical bytes in both formats") {
  Scope root = testing::BuildEveryOpGraph();
  REQUIRE(root.ok());
  for (const char* ext : {".pb", ".pbtxt"}) {
    INFO(ext);
    const std::string first = TempPath(std::string("first") + ext);
    const std::string second = TempPath(std::string("second") + ext);
    REQUIRE(SaveGraph(*root.graph(), first).ok());
    auto loaded = LoadGraph(first);
    INFO(loaded.status().message());
    REQUIRE(loaded.ok());
    RequireSameGraph(*root.graph(), **loaded);
    REQUIRE(SaveGraph(**loaded, second).ok());
    CHECK(ReadAll(first) == ReadAll(second));
  }
  // Binary and text describe the same graph.
  auto from_pb = LoadGraph(TempPath("first.pb"));
  auto from_text = LoadGraph(TempPath("first.pbtxt"));
  REQUIRE(from_pb.ok());
  REQUIRE(from_text.ok());
  RequireSameGraph(**from_pb, **from_text);
  REQUIRE(SaveGraph(**from_text, TempPath("converted.pb")).ok());
  CHECK(ReadAll(TempPath("converted.pb")) == ReadAll(TempPath("first.pb")));
}

TEST_CASE("Tensors survive the proto for every dtype, small and large") {
  std::mt19937 rng(5);
  for (DType dtype : kAllDTypes) {
    for (int64_t n : {0, 1, 5, 16, 17, 1000}) {
      INFO(DTypeName(dtype) << " n=" << n);
      Tensor t(dtype, Shape{n});
      auto* bytes = static_cast<unsigned char*>(t.raw_data());
      for (size_t i = 0; i < t.num_bytes(); ++i) bytes[i] = static_cast<unsigned char>(rng());
      if (dtype == DType::kBool) {
        for (size_t i = 0; i < t.num_bytes(); ++i) bytes[i] &= 1;
      }
      proto::TensorProto p;
      TensorToProto(t, &p);
      CHECK(p.tensor_content().empty() == (n <= 16));
      auto back = TensorFromProto(p);
      REQUIRE(back.ok());
      CHECK(back->BitwiseEquals(t));
    }
  }
}

TEST_CASE("TensorFromProto rejects inconsistent data") {
  proto::TensorProto p;
  p.set_dtype(proto::DT_FLOAT);
  p.mutable_tensor_shape()->add_dim()->set_size(2);
  p.mutable_tensor_shape()->add_dim()->set_size(3);
  for (int i = 0; i < 3; ++i) p.add_float_val(1);
  CHECK_THAT(std::string(TensorFromProto(p).status().message()),
             Contains("tensor data holds 3 values but shape [2,3] needs 6"));
  p.clear_float_val();
  p.add_float_val(4);  // one value fills the shape
  auto splat = TensorFromProto(p);
  REQUIRE(splat.ok());
  CHECK(splat->ToVector<float>() == std::vector<float>(6, 4.0f));
  p.clear_float_val();
  p.set_tensor_content(std::string(23, '\0'));
  CHECK_THAT(std::string(TensorFromProto(p).status().message()),
             Contains("tensor_content holds 23 bytes but f32[2,3] needs 24"));
  p.clear_tensor_content();
  p.add_int_val(1);
  CHECK_THAT(std::string(TensorFromProto(p).status().message()),
             Contains("a f32 tensor keeps its values in float_val"));
  proto::TensorProto bad_dtype;
  bad_dtype.set_dtype(static_cast<proto::DataType>(7));
  CHECK_THAT(std::string(TensorFromProto(bad_dtype).status().message()),
             Contains("invalid dtype 7"));
  proto::TensorProto unknown_dim;
  unknown_dim.set_dtype(proto::DT_FLOAT);
  unknown_dim.mutable_tensor_shape()->add_dim()->set_size(-1);
  CHECK_THAT(std::string(TensorFromProto(unknown_dim).status().message()),
             Contains("a tensor value needs a fully defined shape, got [?]"));
  proto::TensorProto huge;
  huge.set_dtype(proto::DT_FLOAT);
  huge.mutable_tensor_shape()->add_dim()->set_size(int64_t{1} << 40);
  CHECK(TensorFromProto(huge).status().code() == absl::StatusCode::kResourceExhausted);
  proto::TensorProto overflow;
  overflow.set_dtype(proto::DT_FLOAT);
  for (int i = 0; i < 3; ++i) overflow.mutable_tensor_shape()->add_dim()->set_size(int64_t{1} << 40);
  CHECK_THAT(std::string(TensorFromProto(overflow).status().message()),
             Contains("more elements than int64 can count"));
}

constexpr char kPlaceholder[] =
    "node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } } }\n";

TEST_CASE("Nodes may appear in any order in a file") {
  auto g = FromText(
      "node { name: 'y' op: 'Neg' input: 'x' }\n"
      "node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }"
      "  attr { key: 'shape' value { shape { dim { size: -1 } dim { size: 3 } } } } }\n");
  INFO(g.status().message());
  REQUIRE(g.ok());
  CHECK((*g)->FindNode("y")->output_shape(0).ToString() == "[?,3]");
  CHECK((*g)->FindNode("y")->attr("T").dtype() == DType::kF32);
}

TEST_CASE("Every load-time validation error names the node") {
  CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'z' op: 'Frobnicate' input: 'x' }"),
             Contains("node 'z' (Frobnicate): unknown op 'Frobnicate'"));
  CHECK_THAT(LoadError("node { name: 'x' op: 'Placeholder' }"),
             Contains("x (Placeholder): missing required attr 'dtype'"));
  CHECK_THAT(LoadError(std::string(kPlaceholder) +
                       "node { name: 'y' op: 'Neg' input: 'x' attr { key: 'colour' value { s: 'red' } } }"),
             Contains("y (Neg): unknown attr 'colour'"));
  CHECK_THAT(LoadError(std::string(kPlaceholder) +
                       "node { name: 'm' op: 'MatMul' input: 'x' input: 'x' "
                       "attr { key: 'transpose_a' value { i: 1 } } }"),
             Contains("node 'm' (MatMul): attr 'transpose_a' should be bool but the file has int"));
  CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'y' op: 'Neg' input: 'ghost' }"),
             Contains("node 'y' (Neg): input 0 names 'ghost', which is not in the graph"));
  CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'y' op: 'Neg' input: 'x:3' }"),
             Contains("node 'y' (Neg): input 'x:3' reads output 3 of x (Placeholder), which has 1"));
  CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'y' op: 'Neg' input: 'x:abc' }"),
             Contains("node 'y' (Neg): malformed input 'x:abc'"));
  CHECK_THAT(LoadError("node { name: 'a' op: 'Neg' input: 'b' }\n"
                       "node { name: 'b' op: 'Neg' input: 'a' }"),
             Contains("is part of a cycle"));
  CHECK_THAT(LoadError(std::string(kPlaceholder) +
                       "node { name: 'n' op: 'NoOp' input: '^m' }\n"
                       "node { name: 'm' op: 'NoOp' input: '^n' }"),
             Contains("is part of a cycle"));
  CHECK_THAT(LoadError(std::string(kPlaceholder) + kPlaceholder),
             Contains("node 'x' is defined twice"));
  CHECK_THAT(LoadError("node { op: 'NoOp' }"), Contains("node #0 (NoOp) has no name"));
  CHECK_THAT(LoadError(std::string(kPlaceholder) +
                       "node { name: 'i' op: 'Placeholder' attr { key: 'dtype' value { type: DT_INT32 } } }\n"
                       "node { name: 'y' op: 'Add' input: 'x' input: 'i' }"),
             Contains("y (Add): input 1 (y) is i32 but should be f32 (attr T)"));
  CHECK_THAT(LoadError("node { name: 'a' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }"
                       " attr { key: 'shape' value { shape { dim { size: 2 } dim { size: 3 } } } } }\n"
                       "node { name: 'm' op: 'MatMul' input: 'a' input: 'a' }"),
             Contains("m (MatMul): inner dimensions differ: [2,3] vs [2,3]"));
  CHECK_THAT(LoadError("node { name: 'c' op: 'Const' attr { key: 'dtype' value { type: DT_FLOAT } }"
                       " attr { key: 'value' value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 4 } }"
                       " float_val: 1 float_val: 2 } } } }"),
             Contains("node 'c' (Const): attr 'value': tensor data holds 2 values but shape [4] needs 4"));
  CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'y' op: 'Neg' input: '^x' input: 'x' }"),
             Contains("node 'y' (Neg): data input 'x' comes after a control input"));
  CHECK_THAT(LoadError("version: 99"), Contains("format version 99, newer than this Sluice"));
  CHECK_THAT(LoadError("node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_STRING } } }"),
             Contains("Unknown enumeration value of \"DT_STRING\""));
}

TEST_CASE("Malformed bytes are errors, never crashes") {
  Scope root = testing::BuildEveryOpGraph();
  REQUIRE(root.ok());
  auto bytes = SerializeGraph(*root.graph(), GraphFileFormat::kBinary);
  REQUIRE(bytes.ok());
  // Every prefix either loads (a prefix can end on a node boundary) or fails
  // cleanly.
  int failures = 0;
  for (size_t cut = 0; cut < bytes->size(); cut += 7) {
    auto g = ParseGraph(absl::string_view(*bytes).substr(0, cut), GraphFileFormat::kBinary);
    if (!g.ok()) ++failures;
  }
  CHECK(failures > 0);
  auto truncated = ParseGraph(absl::string_view(*bytes).substr(0, bytes->size() - 3),
                              GraphFileFormat::kBinary);
  REQUIRE_FALSE(truncated.ok());
  CHECK_THAT(std::string(truncated.status().message()),
             Contains("not a valid binary GraphDef (truncated or corrupt bytes)"));
  std::mt19937 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    std::string corrupt = *bytes;
    for (int k = 0; k < 4; ++k) corrupt[rng() % corrupt.size()] = static_cast<char>(rng());
    auto g = ParseGraph(corrupt, GraphFileFormat::kBinary);
    (void)g;  // any outcome but a crash is fine
  }
  auto text = FromText("node { name: 'x'\n  op: Placeholder\n");
  REQUIRE_FALSE(text.ok());
  CHECK_THAT(std::string(text.status().message()), Contains("not a valid text GraphDef: line 2"));
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "node { attr { key: 'a' value { list { shape { ";
  CHECK_FALSE(FromText(deep).ok());
}

TEST_CASE("File errors name the path") {
  Scope root = Scope::NewRootScope();
  Placeholder(root.WithOpName("x"), DType::kF32);
  auto wrong_ext = SaveGraph(*root.graph(), TempPath("model.json"));
  CHECK_THAT(std::string(wrong_ext.message()), Contains("model.json: unknown graph file extension; "
                                                        "use .pb (binary) or .pbtxt (text)"));
  auto unwritable = SaveGraph(*root.graph(), "/nonexistent/dir/model.pb");
  CHECK_THAT(std::string(unwritable.message()), Contains("/nonexistent/dir/model.pb: cannot write"));
  auto missing = LoadGraph(TempPath("absent.pb"));
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.status().message()), Contains("absent.pb: no such file"));
  const std::string broken = TempPath("broken.pbtxt");
  std::ofstream(broken) << "node { name: 'x' op: 'Nope' }";
  auto bad = LoadGraph(broken);
  CHECK_THAT(std::string(bad.status().message()), Contains("broken.pbtxt: node 'x' (Nope): unknown op"));
  // No temporary files are left next to a saved graph.
  REQUIRE(SaveGraph(*root.graph(), TempPath("clean.pb")).ok());
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(TempPath("clean.pb")).parent_path())) {
    CHECK(entry.path().string().find(".tmp.") == std::string::npos);
  }
}

}  // namespace
}  // namespace sluice
