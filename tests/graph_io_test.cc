// Graph files: round trips, tensors, and every load-time validation error.
#include "graph/graph_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "tests/every_op_graph.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

// A file in this process's own temporary directory, removed at exit.
std::string TempPath(const std::string& name) {
  struct TempDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("sluice_graph_io_test." + std::to_string(::getpid()));
    TempDir() { std::filesystem::create_directories(path); }
    ~TempDir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const TempDir dir;
  return (dir.path / name).string();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

absl::StatusOr<std::unique_ptr<Graph>> FromText(const std::string& text) {
  return ParseGraph(text, GraphFileFormat::kText);
}

// The message of loading `text`, which must fail.
std::string LoadError(const std::string& text) {
  auto g = FromText(text);
  REQUIRE_FALSE(g.ok());
  return std::string(g.status().message());
}

// Everything the process writes to stderr while alive.
class CaptureStderr {
 public:
  CaptureStderr() : path_(TempPath("stderr.txt")) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~CaptureStderr() { Restore(); }
  // Stops capturing and returns what was written.
  std::string Text() {
    Restore();
    return ReadAll(path_);
  }

 private:
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

// Equal names, ids, ops, devices, inputs, control inputs, attrs and inferred
// output dtypes and shapes.
void RequireSameGraph(const Graph& a, const Graph& b) {
  REQUIRE(a.num_nodes() == b.num_nodes());
  for (Node* n : a.nodes()) {
    INFO(n->name());
    Node* m = b.FindNode(n->name());
    REQUIRE(m != nullptr);
    CHECK(m->id() == n->id());
    CHECK(m->op() == n->op());
    CHECK(m->device() == n->device());
    REQUIRE(m->num_inputs() == n->num_inputs());
    for (int i = 0; i < n->num_inputs(); ++i) CHECK(m->input(i).name() == n->input(i).name());
    REQUIRE(m->control_inputs().size() == n->control_inputs().size());
    for (size_t i = 0; i < n->control_inputs().size(); ++i) {
      CHECK(m->control_inputs()[i]->name() == n->control_inputs()[i]->name());
    }
    CHECK(m->attrs() == n->attrs());
    REQUIRE(m->num_outputs() == n->num_outputs());
    for (int i = 0; i < n->num_outputs(); ++i) {
      CHECK(m->output_shape(i) == n->output_shape(i));
      CHECK(m->output_dtype(i) == n->output_dtype(i));
    }
  }
}

// x [?,3] -> Add(x, c) -> Identity after c; a few nodes with every feature of
// a NodeDef (device, attrs, small tensor, control input).
Scope SmallGraph() {
  Scope root = Scope::NewRootScope();
  Output x =
      Placeholder(root.WithOpName("x").WithDevice("/cpu:0"), DType::kF32, Shape{kUnknownDim, 3});
  Output c = Const(root.WithOpName("c"), {1.0f, 2.0f, 3.0f});
  Output sum = Add(root.WithOpName("sum"), x, c);
  Identity(root.WithOpName("out").WithControlDependencies(std::vector<Output>{c}), sum);
  return root;
}

constexpr char kPlaceholder[] =
    "node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }"
    " attr { key: 'shape' value { shape { dim { size: -1 } dim { size: 3 } } } } }\n";

TEST_CASE("The every-op graph holds every registered op") {
  Scope root = testing::BuildEveryOpGraph();
  INFO(root.status().message());
  REQUIRE(root.ok());
  std::set<std::string> used;
  for (Node* n : root.graph()->nodes()) used.insert(n->op());
  for (const OpDef* op : OpRegistry::Global().ListOps()) {
    INFO("op without a node in tests/every_op_graph.cc: " << op->name());
    CHECK(used.count(op->name()) == 1);
  }
  CHECK(root.graph()->FindNode("x")->output_shape(0).ToString() == "[?,4]");
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
  // Converting between the formats loses nothing, either way.
  auto from_pb = LoadGraph(TempPath("first.pb"));
  auto from_text = LoadGraph(TempPath("first.pbtxt"));
  REQUIRE(from_pb.ok());
  REQUIRE(from_text.ok());
  RequireSameGraph(**from_pb, **from_text);
  REQUIRE(SaveGraph(**from_text, TempPath("converted.pb")).ok());
  CHECK(ReadAll(TempPath("converted.pb")) == ReadAll(TempPath("first.pb")));
  REQUIRE(SaveGraph(**from_pb, TempPath("converted.pbtxt")).ok());
  CHECK(ReadAll(TempPath("converted.pbtxt")) == ReadAll(TempPath("first.pbtxt")));
}

TEST_CASE("ToGraphDef writes inputs, control inputs, devices, attrs and the version") {
  Scope root = SmallGraph();
  REQUIRE(root.ok());
  auto def = ToGraphDef(*root.graph());
  REQUIRE(def.ok());
  CHECK(def->version() == kGraphFormatVersion);
  REQUIRE(def->node_size() == 4);
  const proto::NodeDef& x = def->node(0);
  CHECK(x.name() == "x");
  CHECK(x.op() == "Placeholder");
  CHECK(x.device() == "/cpu:0");
  CHECK(x.attr().at("dtype").type() == proto::DT_FLOAT);
  const proto::TensorShapeProto& shape = x.attr().at("shape").shape();
  REQUIRE(shape.dim_size() == 2);
  CHECK(shape.dim(0).size() == -1);
  CHECK(shape.dim(1).size() == 3);
  CHECK_FALSE(shape.unknown_rank());
  const proto::TensorProto& value = def->node(1).attr().at("value").tensor();
  CHECK(value.dtype() == proto::DT_FLOAT);
  CHECK(std::vector<float>(value.float_val().begin(), value.float_val().end()) ==
        std::vector<float>{1, 2, 3});
  CHECK(value.tensor_content().empty());
  const proto::NodeDef& sum = def->node(2);
  CHECK(std::vector<std::string>(sum.input().begin(), sum.input().end()) ==
        std::vector<std::string>{"x", "c"});
  CHECK(sum.device().empty());
  const proto::NodeDef& out = def->node(3);
  CHECK(std::vector<std::string>(out.input().begin(), out.input().end()) ==
        std::vector<std::string>{"sum", "^c"});

  // Output i > 0 is written "name:i"; unknown rank is a flag.
  Scope split_root = Scope::NewRootScope();
  Output any = Placeholder(split_root.WithOpName("any"), DType::kF32);
  std::vector<Output> halves = Split(split_root.WithOpName("split"), 0, any, 2);
  Neg(split_root.WithOpName("neg"), halves[1]);
  REQUIRE(split_root.ok());
  auto split_def = ToGraphDef(*split_root.graph());
  REQUIRE(split_def.ok());
  CHECK(split_def->node(0).attr().at("shape").shape().unknown_rank());
  CHECK(split_def->node(split_def->node_size() - 1).input(0) == "split:1");
}

TEST_CASE("Tensors survive the proto for every dtype, small and large") {
  std::mt19937 rng(5);
  const std::vector<Shape> shapes = {Shape{},        Shape{0},       Shape{1},
                                     Shape{5},       Shape{4, 4},    Shape{17},
                                     Shape{2, 0, 3}, Shape{3, 5, 7}, Shape{1000}};
  for (DType dtype : kAllDTypes) {
    for (const Shape& shape : shapes) {
      INFO(DTypeName(dtype) << shape.ToString());
      Tensor t(dtype, shape);
      auto* bytes = static_cast<unsigned char*>(t.raw_data());
      for (size_t i = 0; i < t.num_bytes(); ++i) bytes[i] = static_cast<unsigned char>(rng());
      if (dtype == DType::kBool) {
        for (size_t i = 0; i < t.num_bytes(); ++i) bytes[i] &= 1;
      }
      proto::TensorProto p;
      TensorToProto(t, &p);
      CHECK(p.dtype() == static_cast<int>(dtype));
      CHECK(p.tensor_content().empty() == (t.num_elements() <= 16));
      auto back = TensorFromProto(p);
      INFO(back.status().message());
      REQUIRE(back.ok());
      CHECK(back->shape() == shape);
      CHECK(back->BitwiseEquals(t));
    }
  }
}

TEST_CASE("Small tensors use the typed list of their dtype") {
  const auto typed = [](const Tensor& t) {
    proto::TensorProto p;
    TensorToProto(t, &p);
    return p;
  };
  CHECK(typed(Tensor::FromVector<int8_t>({-3, 4})).int_val_size() == 2);
  CHECK(typed(Tensor::FromVector<uint8_t>({200})).int_val(0) == 200);
  CHECK(typed(Tensor::FromVector<int32_t>({7})).int_val(0) == 7);
  CHECK(typed(Tensor::FromVector<int64_t>({int64_t{1} << 40})).int64_val(0) == int64_t{1} << 40);
  CHECK(typed(Tensor::FromVector<double>({0.25})).double_val(0) == 0.25);
  CHECK(typed(Tensor::FromVector<bool>({true, false})).bool_val(0));
  CHECK(typed(Tensor::FromVector<Half>({FloatToHalf(1.0f)})).half_val(0) == 0x3c00);
  CHECK(typed(Tensor::FromVector<BFloat16>({FloatToBFloat16(1.0f)})).half_val(0) == 0x3f80);
}

proto::TensorProto TensorOfShape(proto::DataType dtype, std::vector<int64_t> dims) {
  proto::TensorProto p;
  p.set_dtype(dtype);
  for (int64_t d : dims) p.mutable_tensor_shape()->add_dim()->set_size(d);
  return p;
}

std::string TensorError(const proto::TensorProto& p) {
  auto t = TensorFromProto(p);
  REQUIRE_FALSE(t.ok());
  return std::string(t.status().message());
}

TEST_CASE("TensorFromProto checks the data against the dtype and shape") {
  proto::TensorProto p = TensorOfShape(proto::DT_FLOAT, {2, 3});
  SECTION("one value per element") {
    for (int i = 0; i < 6; ++i) p.add_float_val(static_cast<float>(i));
    auto t = TensorFromProto(p);
    REQUIRE(t.ok());
    CHECK(t->ToVector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
  }
  SECTION("a single value fills the shape") {
    p.add_float_val(4);
    auto t = TensorFromProto(p);
    REQUIRE(t.ok());
    CHECK(t->ToVector<float>() == std::vector<float>(6, 4.0f));
  }
  SECTION("any other count is an error") {
    for (int i = 0; i < 3; ++i) p.add_float_val(1);
    CHECK_THAT(TensorError(p), Contains("tensor data holds 3 values but shape [2,3] needs 6"));
  }
  SECTION("no data is an error unless the shape is empty") {
    CHECK_THAT(TensorError(p), Contains("tensor data holds 0 values but shape [2,3] needs 6"));
    auto empty = TensorFromProto(TensorOfShape(proto::DT_FLOAT, {2, 0}));
    REQUIRE(empty.ok());
    CHECK(empty->num_elements() == 0);
  }
  SECTION("tensor_content must be exactly the byte size") {
    p.set_tensor_content(std::string(23, '\0'));
    CHECK_THAT(TensorError(p), Contains("tensor_content holds 23 bytes but f32[2,3] needs 24"));
  }
  SECTION("tensor_content and typed values together") {
    p.set_tensor_content(std::string(24, '\0'));
    p.add_float_val(1);
    CHECK_THAT(TensorError(p), Contains("tensor has both tensor_content and float_val"));
  }
  SECTION("values in the list of another dtype") {
    p.add_int_val(1);
    CHECK_THAT(
        TensorError(p),
        Contains("the values of a f32 tensor belong in float_val, but the file has int_val"));
    proto::TensorProto i32 = TensorOfShape(proto::DT_INT32, {1});
    i32.add_float_val(1.5f);
    CHECK_THAT(
        TensorError(i32),
        Contains("the values of a i32 tensor belong in int_val, but the file has float_val"));
  }
  SECTION("values outside the element type") {
    proto::TensorProto u8 = TensorOfShape(proto::DT_UINT8, {2});
    u8.add_int_val(1);
    u8.add_int_val(300);
    CHECK_THAT(TensorError(u8), Contains("int_val[1] = 300 is out of range for u8"));
    proto::TensorProto i8 = TensorOfShape(proto::DT_INT8, {1});
    i8.add_int_val(-129);
    CHECK_THAT(TensorError(i8), Contains("int_val[0] = -129 is out of range for i8"));
    proto::TensorProto f16 = TensorOfShape(proto::DT_HALF, {1});
    f16.add_half_val(0x10000);
    CHECK_THAT(TensorError(f16),
               Contains("half_val[0] = 65536 is out of range for f16 (a 16-bit pattern)"));
    proto::TensorProto flags = TensorOfShape(proto::DT_BOOL, {20});
    std::string content(20, '\1');
    content[13] = '\2';
    flags.set_tensor_content(content);
    CHECK_THAT(TensorError(flags),
               Contains("tensor_content byte 13 of a bool tensor is 2, not 0 or 1"));
  }
  SECTION("invalid dtypes") {
    CHECK_THAT(TensorError(TensorOfShape(static_cast<proto::DataType>(7), {1})),
               Contains("tensor has an invalid dtype 7"));
    CHECK_THAT(TensorError(TensorOfShape(proto::DT_INVALID, {1})),
               Contains("tensor has an invalid dtype 0"));
  }
  SECTION("shapes that are not fully defined or too large") {
    CHECK_THAT(TensorError(TensorOfShape(proto::DT_FLOAT, {-1})),
               Contains("a tensor value needs a fully defined shape, got [?]"));
    CHECK_THAT(TensorError(TensorOfShape(proto::DT_FLOAT, {2, -3})),
               Contains("shape has dim -3 (dims are >= 0, or -1 for unknown)"));
    proto::TensorProto unknown_rank = TensorOfShape(proto::DT_FLOAT, {});
    unknown_rank.mutable_tensor_shape()->set_unknown_rank(true);
    CHECK_THAT(TensorError(unknown_rank), Contains("needs a fully defined shape, got <unknown>"));
    proto::TensorProto huge = TensorOfShape(proto::DT_FLOAT, {int64_t{1} << 40});
    huge.add_float_val(1);
    auto refused = TensorFromProto(huge);
    CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);
    CHECK_THAT(std::string(refused.status().message()),
               Contains("tensor f32[1099511627776] would need more than 4294967296 bytes"));
    const int64_t big = int64_t{1} << 40;
    CHECK_THAT(TensorError(TensorOfShape(proto::DT_FLOAT, {big, big, big})),
               Contains("more elements than int64 can count"));
  }
}

TEST_CASE("Nodes may appear in any order in a file") {
  auto g = FromText("node { name: 'y' op: 'Neg' input: 'x' }\n" + std::string(kPlaceholder));
  INFO(g.status().message());
  REQUIRE(g.ok());
  CHECK((*g)->FindNode("x")->id() == 0);
  CHECK((*g)->FindNode("y")->output_shape(0).ToString() == "[?,3]");
  CHECK((*g)->FindNode("y")->attr("T").dtype() == DType::kF32);
}

TEST_CASE("Attribute values convert to the kind the op declares") {
  SECTION("an empty list is an empty list of the declared kind") {
    auto g = FromText(
        "node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }"
        " attr { key: 'shape' value { shape { dim { size: 1 } dim { size: 3 } dim { size: 1 } "
        "} } } }\n"
        "node { name: 's' op: 'Squeeze' input: 'x' attr { key: 'squeeze_dims' value { list {} } "
        "} }");
    INFO(g.status().message());
    REQUIRE(g.ok());
    const AttrValue& dims = (*g)->FindNode("s")->attr("squeeze_dims");
    REQUIRE(dims.type() == AttrType::kIntList);
    CHECK(dims.ints().empty());
    CHECK((*g)->FindNode("s")->output_shape(0).ToString() == "[3]");
  }
  SECTION("a value of another kind is an error naming the attr") {
    CHECK_THAT(
        LoadError(std::string(kPlaceholder) + "node { name: 'm' op: 'MatMul' input: 'x' input: 'x' "
                                              "attr { key: 'transpose_a' value { i: 1 } } }"),
        Contains("node 'm' (MatMul): attr 'transpose_a' should be bool but the file has "
                 "int"));
    CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'r' op: 'LeakyRelu' input: 'x' "
                                                     "attr { key: 'alpha' value { i: 1 } } }"),
               Contains("node 'r' (LeakyRelu): attr 'alpha' should be float but the file has int"));
    CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'r' op: 'LeakyRelu' input: 'x' "
                                                     "attr { key: 'alpha' value { } } }"),
               Contains("node 'r' (LeakyRelu): attr 'alpha' should be float but the file has "
                        "no value"));
    CHECK_THAT(
        LoadError(std::string(kPlaceholder) + "node { name: 'p' op: 'MaxPool' input: 'x' "
                                              "attr { key: 'ksize' value { list { f: 2 } } } }"),
        Contains("node 'p' (MaxPool): attr 'ksize' should be list(int) but the file has "
                 "list(float)"));
    CHECK_THAT(LoadError(std::string(kPlaceholder) +
                         "node { name: 'p' op: 'MaxPool' input: 'x' "
                         "attr { key: 'ksize' value { list { i: 2 f: 2 } } } }"),
               Contains("attr 'ksize' should be list(int) but the file has a list mixing int "
                        "and float"));
    CHECK_THAT(
        LoadError(std::string(kPlaceholder) + "node { name: 'p' op: 'MaxPool' input: 'x' "
                                              "attr { key: 'padding' value { list { } } } }"),
        Contains("attr 'padding' should be string but the file has an empty list"));
  }
  SECTION("bad values inside an attr") {
    CHECK_THAT(LoadError("node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { "
                         "type: 7 } } }"),
               Contains("node 'x' (Placeholder): attr 'dtype': invalid dtype 7"));
    CHECK_THAT(LoadError("node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { "
                         "type: DT_FLOAT } } attr { key: 'shape' value { shape { dim { size: -2 "
                         "} } } } }"),
               Contains("node 'x' (Placeholder): attr 'shape': shape has dim -2"));
    CHECK_THAT(LoadError("node { name: 'c' op: 'Const' attr { key: 'dtype' value { type: "
                         "DT_FLOAT } } attr { key: 'value' value { tensor { dtype: DT_FLOAT "
                         "tensor_shape { dim { size: 4 } } float_val: 1 float_val: 2 } } } }"),
               Contains("node 'c' (Const): attr 'value': tensor data holds 2 values but shape "
                        "[4] needs 4"));
  }
}

TEST_CASE("Every load-time validation error names the node") {
  SECTION("too new a format version") {
    CHECK_THAT(LoadError("version: 2"),
               Contains("the graph was written in format version 2, which is newer than this "
                        "Sluice reads (version 1); load it with a newer Sluice"));
  }
  SECTION("empty name") {
    CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { op: 'NoOp' }"),
               Contains("node 1 of the file (op NoOp) has no name"));
  }
  SECTION("duplicate name") {
    CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'x' op: 'NoOp' }"),
               Contains("node 'x' is defined twice (Placeholder and NoOp)"));
  }
  SECTION("malformed input strings") {
    for (const char* input : {"x:abc", "x:-1", "x:", "x:+1", "x: 1", ":0", "^", ""}) {
      INFO(input);
      CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'y' op: 'Neg' input: '" +
                           input + "' }"),
                 Contains(std::string("node 'y' (Neg): input 0: malformed input '") + input +
                          "' (inputs are 'node', 'node:output' or '^node')"));
    }
  }
  SECTION("an input naming a missing node") {
    CHECK_THAT(LoadError(std::string(kPlaceholder) +
                         "node { name: 'y' op: 'Add' input: 'x' input: 'ghost' }"),
               Contains("node 'y' (Add): input 1 names 'ghost', which is not in the graph"));
    CHECK_THAT(LoadError(std::string(kPlaceholder) +
                         "node { name: 'y' op: 'Neg' input: 'x' input: '^ghost' }"),
               Contains("node 'y' (Neg): input 1 names 'ghost', which is not in the graph"));
  }
  SECTION("an input naming a missing output") {
    CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'y' op: 'Neg' input: 'x:3' }"),
               Contains("node 'y' (Neg): input 'x:3' reads output 3 of x (Placeholder), which "
                        "has 1 output"));
  }
  SECTION("a data input after a control input") {
    CHECK_THAT(LoadError(std::string(kPlaceholder) +
                         "node { name: 'y' op: 'Neg' input: '^x' input: 'x' }"),
               Contains("node 'y' (Neg): data input 1 'x' comes after a control input"));
  }
  SECTION("cycles name a node on the cycle") {
    // 'c' is only downstream of the cycle, so the error is about 'a'.
    CHECK_THAT(LoadError("node { name: 'c' op: 'Neg' input: 'a' }\n"
                         "node { name: 'a' op: 'Neg' input: 'b' }\n"
                         "node { name: 'b' op: 'Neg' input: 'a' }"),
               Contains("node 'a' (Neg): its inputs form a cycle: a reads b, which reads a"));
    CHECK_THAT(LoadError("node { name: 'a' op: 'Neg' input: 'a' }"),
               Contains("node 'a' (Neg): its inputs form a cycle: a reads a"));
    CHECK_THAT(LoadError("node { name: 'n' op: 'NoOp' input: '^m' }\n"
                         "node { name: 'm' op: 'NoOp' input: '^k' }\n"
                         "node { name: 'k' op: 'NoOp' input: '^n' }"),
               Contains("node 'n' (NoOp): its inputs form a cycle: n reads m, which reads k, "
                        "which reads n"));
  }
  SECTION("unknown op") {
    CHECK_THAT(
        LoadError(std::string(kPlaceholder) + "node { name: 'z' op: 'Frobnicate' input: 'x' }"),
        Contains("node 'z' (Frobnicate): unknown op 'Frobnicate'"));
  }
  SECTION("unknown and missing attrs") {
    CHECK_THAT(LoadError(std::string(kPlaceholder) + "node { name: 'y' op: 'Neg' input: 'x' "
                                                     "attr { key: 'colour' value { s: 'red' } } }"),
               Contains("node 'y' (Neg): unknown attr 'colour'"));
    CHECK_THAT(LoadError("node { name: 'x' op: 'Placeholder' }"),
               Contains("node 'x' (Placeholder): missing required attr 'dtype'"));
  }
  SECTION("errors from Graph::AddNode name the node once") {
    const std::string dtype_error = LoadError(
        std::string(kPlaceholder) +
        "node { name: 'i' op: 'Placeholder' attr { key: 'dtype' value { type: DT_INT32 } } }\n"
        "node { name: 'y' op: 'Add' input: 'x' input: 'i' }");
    CHECK(dtype_error == "node 'y' (Add): input 1 (y) is i32 but should be f32 (attr T)");
    const std::string shape_error = LoadError(
        "node { name: 'a' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }"
        " attr { key: 'shape' value { shape { dim { size: 2 } dim { size: 3 } } } } }\n"
        "node { name: 'm' op: 'MatMul' input: 'a' input: 'a' }");
    CHECK(shape_error == "node 'm' (MatMul): inner dimensions differ: [2,3] vs [2,3]");
  }
  SECTION("the first bad node in the file is reported") {
    CHECK_THAT(LoadError("node { name: 'b' op: 'Neg' input: 'ghost' }\n"
                         "node { name: 'a' op: 'Frobnicate' }"),
               Contains("node 'b' (Neg): input 0 names 'ghost'"));
  }
}

TEST_CASE("Truncated and corrupted files are errors, never crashes") {
  SECTION("every prefix of a small binary file loads or fails cleanly") {
    Scope root = SmallGraph();
    REQUIRE(root.ok());
    auto bytes = SerializeGraph(*root.graph(), GraphFileFormat::kBinary);
    REQUIRE(bytes.ok());
    // A prefix that ends between nodes is a valid, smaller graph (the version
    // comes last); any other prefix is truncated.
    int loaded = 0;
    for (size_t cut = 0; cut < bytes->size(); ++cut) {
      INFO("prefix of " << cut << " bytes");
      auto g = ParseGraph(absl::string_view(*bytes).substr(0, cut), GraphFileFormat::kBinary);
      if (g.ok()) {
        ++loaded;
        continue;
      }
      CHECK_THAT(std::string(g.status().message()),
                 Contains("not a valid binary GraphDef (truncated or corrupt bytes)"));
    }
    CHECK(loaded == root.graph()->num_nodes() + 1);
  }
  Scope root = testing::BuildEveryOpGraph();
  REQUIRE(root.ok());
  auto binary = SerializeGraph(*root.graph(), GraphFileFormat::kBinary);
  auto text = SerializeGraph(*root.graph(), GraphFileFormat::kText);
  REQUIRE(binary.ok());
  REQUIRE(text.ok());
  SECTION("prefixes and random damage of a large file, silently") {
    CaptureStderr captured;
    int failures = 0;
    for (size_t cut = 0; cut < binary->size(); cut += 3) {
      if (!ParseGraph(absl::string_view(*binary).substr(0, cut), GraphFileFormat::kBinary).ok()) {
        ++failures;
      }
    }
    std::mt19937 rng(11);
    for (int trial = 0; trial < 500; ++trial) {
      for (const std::string* original : {&*binary, &*text}) {
        std::string damaged = *original;
        for (int k = 0; k < 3; ++k) damaged[rng() % damaged.size()] = static_cast<char>(rng());
        // Any outcome but a crash (or output) is fine.
        ParseGraph(damaged,
                   original == &*binary ? GraphFileFormat::kBinary : GraphFileFormat::kText)
            .IgnoreError();
      }
    }
    // A string field holding invalid UTF-8 makes protobuf log unless silenced.
    std::string bad_utf8 = *binary;
    const size_t name_at = bad_utf8.find("training");
    REQUIRE(name_at != std::string::npos);
    bad_utf8[name_at] = static_cast<char>(0xff);
    auto utf8 = ParseGraph(bad_utf8, GraphFileFormat::kBinary);
    const std::string output = captured.Text();
    CHECK(output.empty());
    CHECK(failures > 0);
    REQUIRE_FALSE(utf8.ok());
    CHECK_THAT(std::string(utf8.status().message()), Contains("not a valid binary GraphDef"));
  }
  SECTION("deeply nested unknown groups hit the recursion limit") {
    const std::string nested(100000, '\x1b');  // start-group tags of field 3
    auto g = ParseGraph(nested, GraphFileFormat::kBinary);
    REQUIRE_FALSE(g.ok());
    CHECK_THAT(std::string(g.status().message()), Contains("not a valid binary GraphDef"));
  }
  SECTION("a malformed text file reports the line and column") {
    CHECK(LoadError("node {\n  name: 'x'\n  op: Placeholder\n}\n") ==
          "not a valid text GraphDef: line 3, column 7: Expected string, got: Placeholder");
    CHECK(LoadError("node { name: 'x' colour: 'red' }") ==
          "not a valid text GraphDef: line 1, column 24: Message type \"sluice.proto.NodeDef\" "
          "has no field named \"colour\".");
  }
}

TEST_CASE("Names and devices must be valid UTF-8, so every loaded graph saves and reloads") {
  // Found by fuzz/graph_loader_fuzzer: a .pbtxt may spell any bytes with
  // escapes, but a .pb holds these fields as UTF-8, so a graph that loaded
  // with such a name saved to a .pb that no longer loaded.
  const std::string bad_name =
      "node { name: 'x\\377' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } } }";
  CHECK(LoadError(bad_name) == "node 0 of the file has a name that is not valid UTF-8: \"x\\377\"");
  CHECK_THAT(LoadError(std::string(kPlaceholder) +
                       "node { name: 'y' op: 'Neg' input: 'x' device: '/cpu:\\300\\200'"
                       " attr { key: 'T' value { type: DT_FLOAT } } }"),
             Contains("node 1 of the file has a device that is not valid UTF-8: "
                      "\"/cpu:\\300\\200\""));
  // Surrogates and code points past U+10FFFF are not UTF-8 either; real
  // multi-byte characters are.
  for (const char* name : {"\\355\\240\\200", "\\364\\220\\200\\200", "x\\342\\202"}) {
    INFO(name);
    CHECK_THAT(LoadError(absl::StrCat("node { name: '", name, "' op: 'NoOp' }")),
               Contains("has a name that is not valid UTF-8"));
  }
  auto g = FromText("node { name: 'caf\\303\\251/\\360\\237\\231\\202' op: 'NoOp' }");
  REQUIRE(g.ok());
  auto bytes = SerializeGraph(**g, GraphFileFormat::kBinary);
  REQUIRE(bytes.ok());
  auto again = ParseGraph(*bytes, GraphFileFormat::kBinary);
  REQUIRE(again.ok());
  CHECK((*again)->FindNode("caf\xc3\xa9/\xf0\x9f\x99\x82") != nullptr);
}

TEST_CASE("File errors name the path") {
  Scope root = SmallGraph();
  REQUIRE(root.ok());
  SECTION("wrong extension") {
    CHECK(SaveGraph(*root.graph(), TempPath("model.json")).message() ==
          TempPath("model.json") +
              ": unknown graph file extension; use .pb (binary) or .pbtxt "
              "(text)");
    CHECK_THAT(std::string(LoadGraph(TempPath("model.txt")).status().message()),
               Contains("model.txt: unknown graph file extension"));
  }
  SECTION("unwritable path") {
    const absl::Status status = SaveGraph(*root.graph(), "/nonexistent/dir/model.pb");
    CHECK(status.code() == absl::StatusCode::kNotFound);
    CHECK(status.message() == "/nonexistent/dir/model.pb: cannot write: No such file or directory");
  }
  SECTION("missing file") {
    auto missing = LoadGraph(TempPath("absent.pb"));
    CHECK(missing.status().code() == absl::StatusCode::kNotFound);
    CHECK(missing.status().message() == TempPath("absent.pb") + ": no such file");
  }
  SECTION("a directory") {
    std::filesystem::create_directories(TempPath("folder.pb"));
    CHECK(LoadGraph(TempPath("folder.pb")).status().message() ==
          TempPath("folder.pb") + ": is a directory, not a graph file");
  }
  SECTION("errors inside the file") {
    const std::string broken = TempPath("broken.pbtxt");
    WriteAll(broken, "node { name: 'x' op: 'Nope' }");
    CHECK(LoadGraph(broken).status().message() == broken + ": node 'x' (Nope): unknown op 'Nope'");
    proto::GraphDef future;
    future.set_version(kGraphFormatVersion + 1);
    const std::string newer = TempPath("newer.pb");
    WriteAll(newer, future.SerializeAsString());
    CHECK_THAT(std::string(LoadGraph(newer).status().message()),
               StartsWith(newer + ": the graph was written in format version 2"));
    const std::string truncated = TempPath("truncated.pb");
    auto bytes = SerializeGraph(*root.graph(), GraphFileFormat::kBinary);
    REQUIRE(bytes.ok());
    WriteAll(truncated, bytes->substr(0, bytes->size() - 5));
    CHECK(LoadGraph(truncated).status().message() ==
          truncated + ": not a valid binary GraphDef (truncated or corrupt bytes)");
  }
  SECTION("saving replaces the file and leaves no temporary file") {
    const std::string path = TempPath("replaced.pbtxt");
    WriteAll(path, "old contents");
    REQUIRE(SaveGraph(*root.graph(), path).ok());
    auto loaded = LoadGraph(path);
    REQUIRE(loaded.ok());
    CHECK((*loaded)->num_nodes() == root.graph()->num_nodes());
    for (const auto& entry : std::filesystem::directory_iterator(TempPath(""))) {
      CHECK(entry.path().string().find(".tmp.") == std::string::npos);
    }
  }
}

}  // namespace
}  // namespace sluice
