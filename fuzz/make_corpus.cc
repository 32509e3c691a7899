// Writes the seed corpora of the fuzz targets (small valid inputs) and the
// graph dictionary:
//
//   make_corpus OUT_DIR
//
// creates OUT_DIR/<target>/... for graph_loader_fuzzer, session_fuzzer,
// checkpoint_fuzzer, npy_fuzzer and idx_fuzzer, and
// OUT_DIR/graph_loader_fuzzer.dict. The checked-in fuzz/corpus was written
// this way (scripts/fuzz.sh --regenerate-corpus).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/graph_io.h"
#include "graph/op_def.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/random.h"
#include "graph/ops/state.h"
#include "graph/ops/training.h"
#include "graph/scope.h"
#include "kernels/variable_store.h"
#include "runtime/checkpoint.h"
#include "runtime/idx.h"
#include "runtime/npy.h"

namespace sluice {
namespace {

[[noreturn]] void Die(absl::string_view what) {
  std::fprintf(stderr, "make_corpus: %.*s\n", static_cast<int>(what.size()), what.data());
  std::exit(1);
}

void Check(const absl::Status& status) {
  if (!status.ok()) Die(status.ToString());
}

void MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    Die(absl::StrCat("cannot create ", path));
}

void Write(const std::string& path, absl::string_view bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
      std::fclose(f) != 0) {
    Die(absl::StrCat("cannot write ", path));
  }
}

// 0, 0.5, 1, ... (or 0, 1, 2, ... for integers; alternating for bool).
Tensor Ramp(DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  VisitDType(dtype, [&]<typename T>() {
    T* data = t.data<T>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      const float v = 0.5f * static_cast<float>(i) - 1.0f;
      if constexpr (std::is_same_v<T, Half>) {
        data[i] = FloatToHalf(v);
      } else if constexpr (std::is_same_v<T, BFloat16>) {
        data[i] = FloatToBFloat16(v);
      } else if constexpr (std::is_same_v<T, bool>) {
        data[i] = i % 2 == 0;
      } else if constexpr (std::is_floating_point_v<T>) {
        data[i] = static_cast<T>(v);
      } else {
        data[i] = static_cast<T>(i);
      }
    }
  });
  return t;
}

// Small graphs the session can run; each a few dozen nodes at most.
std::vector<std::pair<std::string, Scope>> SmallGraphs() {
  std::vector<std::pair<std::string, Scope>> graphs;
  {  // A two-layer perceptron with variables and an initialiser.
    Scope s = Scope::NewRootScope();
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 4});
    Output w = Variable(s.WithOpName("w"), Shape{4, 3}, DType::kF32,
                        Const(s, Ramp(DType::kF32, Shape{4, 3})));
    Output b =
        Variable(s.WithOpName("b"), Shape{3}, DType::kF32, Const(s, Ramp(DType::kF32, Shape{3})));
    Output h = Relu(s.WithOpName("h"), BiasAdd(s, MatMul(s, x, w), b));
    Softmax(s.WithOpName("probs"), h);
    InitAllVariables(s.WithOpName("init"));
    graphs.emplace_back("mlp", s);
  }
  {  // Convolution, pooling and reductions.
    Scope s = Scope::NewRootScope();
    Output img = Placeholder(s.WithOpName("img"), DType::kF32, Shape{1, 4, 4, 2});
    Output filter = Const(s.WithOpName("filter"), Ramp(DType::kF32, Shape{2, 2, 2, 3}));
    Output conv = Conv2D(s.WithOpName("conv"), img, filter);
    Output pool = MaxPool(s.WithOpName("pool"), conv);
    Output flat = Reshape(s.WithOpName("flat"), pool, std::vector<int64_t>{1, -1});
    Mean(s.WithOpName("mean"), flat, {1});
    ArgMax(s.WithOpName("argmax"), flat, 1);
    graphs.emplace_back("conv", s);
  }
  {  // Array ops on integer and float inputs.
    Scope s = Scope::NewRootScope();
    Output a = Placeholder(s.WithOpName("a"), DType::kI32, Shape{2, 3});
    Output f = Placeholder(s.WithOpName("f"), DType::kF64, Shape{3});
    Output t = Transpose(s.WithOpName("t"), Cast(s, a, DType::kF64), std::vector<int64_t>{1, 0});
    Output c = Concat(s.WithOpName("c"), {t, t}, 1);
    Output g = Gather(s.WithOpName("g"), f, Const(s, std::vector<int32_t>{2, 0, 1}));
    Slice(s.WithOpName("slice"), c, std::vector<int64_t>{0, 1}, std::vector<int64_t>{2, 2});
    Tile(s.WithOpName("tile"), ExpandDims(s, g, 0), std::vector<int64_t>{2, 1});
    Fill(s.WithOpName("fill"), Const(s, std::vector<int32_t>{2, 2}), Const(s, 1.5f));
    Pad(s.WithOpName("pad"), a,
        Const(s, Tensor::FromVector<int32_t>({1, 0, 0, 1}, Shape{2, 2}).value()));
    graphs.emplace_back("array", s);
  }
  {  // Elementwise math, comparisons and select.
    Scope s = Scope::NewRootScope();
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{kUnknownDim});
    Output y = Placeholder(s.WithOpName("y"), DType::kF32);
    Output z = Sub(s, Mul(s, x, Exp(s, y)), Sqrt(s, Abs(s, x)));
    Output cmp = Greater(s.WithOpName("gt"), z, Const(s, 0.0f));
    Select(s.WithOpName("sel"), cmp, z, Neg(s, z));
    Sum(s.WithOpName("sum"), Tanh(s, Sigmoid(s, z)), {0});
    Cast(s.WithOpName("half"), z, DType::kF16);
    graphs.emplace_back("math", s);
  }
  {  // A training step: gradient descent on a variable.
    Scope s = Scope::NewRootScope();
    Output w =
        Variable(s.WithOpName("w"), Shape{3}, DType::kF32, Const(s, Ramp(DType::kF32, Shape{3})));
    Output grad = Placeholder(s.WithOpName("grad"), DType::kF32, Shape{3});
    ApplyGradientDescent(s.WithOpName("step"), w, Const(s, 0.1f), grad);
    AssignAdd(s.WithOpName("bump"), w, Const(s, Ramp(DType::kF32, Shape{3})));
    RandomUniform(s.WithOpName("noise"), {2, 2}, DType::kF32);
    InitAllVariables(s.WithOpName("init"));
    graphs.emplace_back("train", s);
  }
  return graphs;
}

void WriteGraph(const std::string& dir, const std::string& name, const Scope& scope) {
  Check(scope.status());
  for (auto [format, ext] :
       {std::pair{GraphFileFormat::kBinary, ".pb"}, std::pair{GraphFileFormat::kText, ".pbtxt"}}) {
    auto bytes = SerializeGraph(*scope.graph(), format);
    Check(bytes.status());
    Write(absl::StrCat(dir, "/", name, ext), *bytes);
  }
}

void WriteGraphs(const std::string& out) {
  const std::string loader = out + "/graph_loader_fuzzer";
  const std::string session = out + "/session_fuzzer";
  MakeDir(loader);
  MakeDir(session);
  for (const auto& [name, scope] : SmallGraphs()) {
    WriteGraph(loader, name, scope);
    WriteGraph(session, name, scope);
  }

  // Tokens of the text format and the names a GraphDef uses.
  std::string dict;
  const auto add = [&](absl::string_view token) { absl::StrAppend(&dict, "\"", token, "\"\n"); };
  for (const char* t : {"node {",
                        "}",
                        "name: ",
                        "op: ",
                        "input: ",
                        "device: ",
                        "attr {",
                        "key: ",
                        "value {",
                        "type: ",
                        "shape {",
                        "dim {",
                        "size: ",
                        "unknown_rank: true",
                        "tensor {",
                        "dtype: ",
                        "tensor_shape {",
                        "tensor_content: ",
                        "float_val: ",
                        "double_val: ",
                        "int_val: ",
                        "int64_val: ",
                        "bool_val: ",
                        "half_val: ",
                        "list {",
                        "i: ",
                        "f: ",
                        "b: true",
                        "s: ",
                        "version: ",
                        "^",
                        ":1",
                        "-1"}) {
    std::string escaped;
    for (char c : std::string(t)) escaped += c == '"' ? std::string("\\\"") : std::string(1, c);
    add(escaped);
  }
  for (const char* t : {"DT_FLOAT", "DT_DOUBLE", "DT_INT32", "DT_UINT8", "DT_INT8", "DT_INT64",
                        "DT_BOOL", "DT_BFLOAT16", "DT_HALF", "DT_INVALID"}) {
    add(t);
  }
  for (const OpDef* op : OpRegistry::Global().ListOps()) add(op->name());
  Write(out + "/graph_loader_fuzzer.dict", dict);
  Write(out + "/session_fuzzer.dict", dict);
}

void WriteCheckpoints(const std::string& out) {
  const std::string dir = out + "/checkpoint_fuzzer";
  MakeDir(dir);
  // The variables of checkpoint_fuzzer's graph.
  struct Spec {
    const char* name;
    DType dtype;
    Shape shape;
  };
  const std::vector<Spec> specs = {
      {"w", DType::kF32, Shape{2, 3}}, {"b", DType::kF32, Shape{3}},
      {"step", DType::kI64, Shape{}},  {"flag", DType::kBool, Shape{4}},
      {"h", DType::kF16, Shape{2}},    {"bf", DType::kBF16, Shape{3}},
      {"d", DType::kF64, Shape{1, 1}}, {"u", DType::kU8, Shape{5}},
  };
  const auto save = [&](const std::vector<Spec>& vars, const std::string& name) {
    VariableStore store;
    for (const Spec& v : vars) {
      auto slot = store.GetOrCreate(v.name, v.dtype, v.shape);
      Check(slot.status());
      (*slot)->Set(Ramp(v.dtype, v.shape));
    }
    Check(SaveCheckpoint(store, absl::StrCat(dir, "/", name)));
  };
  save(specs, "all.ckpt");
  save({specs[0], specs[1]}, "two.ckpt");
  save({{"w", DType::kF32, Shape{0, 3}}}, "empty_tensor.ckpt");
  save({}, "no_tensors.ckpt");
  Write(out + "/checkpoint_fuzzer.dict", "\"SLUICKPT\"\n\"\\x40\\x00\\x00\\x00\"\n");
}

void WriteNpys(const std::string& out) {
  const std::string dir = out + "/npy_fuzzer";
  MakeDir(dir);
  for (DType dtype : kAllDTypes) {
    if (dtype == DType::kBF16) continue;  // no NumPy dtype
    for (const Shape& shape : {Shape{}, Shape{5}, Shape{2, 3}, Shape{2, 0, 2}}) {
      auto bytes = SerializeNpy(Ramp(dtype, shape));
      Check(bytes.status());
      std::string name = absl::StrCat(DTypeName(dtype), "_r", shape.rank());
      if (shape.num_elements() == 0) name += "_empty";
      Write(absl::StrCat(dir, "/", name, ".npy"), *bytes);
    }
  }
  // Variants SerializeNpy never writes: big-endian data, versions 2.0 and
  // 3.0, a Fortran-order flag, a shape with a trailing comma.
  const auto npy = [](char major, absl::string_view dict, absl::string_view data) {
    std::string header(dict);
    const size_t prefix = major == 1 ? 10 : 12;
    while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes = absl::StrCat("\x93NUMPY", std::string(1, major), std::string(1, '\0'));
    const size_t n = header.size();
    bytes += static_cast<char>(n & 0xff);
    bytes += static_cast<char>((n >> 8) & 0xff);
    if (major != 1) bytes += std::string(2, '\0');
    return absl::StrCat(bytes, header, data);
  };
  Write(dir + "/big_endian_f4.npy",
        npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
            std::string("\x3f\x80\x00\x00\x40\x00\x00\x00", 8)));
  Write(dir + "/v2_i2_rejected.npy",
        npy(2, "{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }", std::string(2, '\1')));
  Write(dir + "/v3_u1.npy",
        npy(3, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 1), }", "abc"));
  Write(dir + "/fortran.npy",
        npy(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }", std::string(8, '\0')));
  const std::string npy_dict =
      "\"\\x93NUMPY\"\n\"{'descr': '\"\n\"'fortran_order': \"\n\"False\"\n\"True\"\n"
      "\"'shape': (\"\n\"), }\"\n\"<f4\"\n\">f8\"\n\"|b1\"\n\"<i8\"\n\"<f2\"\n\"|i1\"\n\",\"\n";
  Write(out + "/npy_fuzzer.dict", npy_dict);
}

void WriteIdxs(const std::string& out) {
  const std::string dir = out + "/idx_fuzzer";
  MakeDir(dir);
  for (DType dtype : {DType::kU8, DType::kI8, DType::kI32, DType::kF32, DType::kF64}) {
    for (const Shape& shape : {Shape{}, Shape{4}, Shape{2, 2, 3}}) {
      auto bytes = SerializeIdx(Ramp(dtype, shape));
      Check(bytes.status());
      Write(absl::StrCat(dir, "/", DTypeName(dtype), "_r", shape.rank(), ".idx"), *bytes);
    }
  }
  // i16 (read as i32) is never written by SerializeIdx.
  Write(dir + "/i16_r1.idx", std::string("\0\0\x0b\x01\0\0\0\x02\xff\xfe\x00\x07", 12));
  auto images = SerializeIdx(Ramp(DType::kU8, Shape{2, 3, 3}));
  Check(images.status());
  auto gz = GzipBytes(*images);
  Check(gz.status());
  Write(dir + "/u8_images.idx.gz", *gz);
  Write(out + "/idx_fuzzer.dict",
        "\"\\x00\\x00\\x08\\x01\"\n\"\\x00\\x00\\x0d\\x02\"\n\"\\x00\\x00\\x0b\\x03\"\n"
        "\"\\x00\\x00\\x0e\\x00\"\n\"\\x1f\\x8b\\x08\\x00\"\n\"\\xff\\xff\\xff\\xff\"\n");
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  sluice::MakeDir(out);
  sluice::WriteGraphs(out);
  sluice::WriteCheckpoints(out);
  sluice::WriteNpys(out);
  sluice::WriteIdxs(out);
  return 0;
}
