// Checkpoints: round trips through real sessions, the file layout, and every
// restore error leaving the variables as they were.
#include "runtime/checkpoint.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "graph/ops/state.h"
#include "proto/checkpoint.pb.h"
#include "runtime/crc32c.h"
#include "runtime/npy.h"
#include "runtime/session.h"
#include "tests/temp_dir.h"

namespace sluice {
namespace {

using testing::TempDir;
using Catch::Matchers::Contains;


std::string ReadAll(const std::string& path) {
  auto bytes = ReadFileToString(path);
  REQUIRE(bytes.ok());
  return *bytes;
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

uint64_t LoadU64(const std::string& s, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}

// Distinct, exactly representable values for any dtype; `seed` shifts them.
Tensor MakeValues(DType dtype, const Shape& shape, int seed) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const int v = static_cast<int>(i) * 3 + seed;
    switch (dtype) {
      case DType::kF32:
        t.data<float>()[i] = v * 0.5f - 7.25f;
        break;
      case DType::kF64:
        t.data<double>()[i] = v * 0.125 + 1e-300;
        break;
      case DType::kI32:
        t.data<int32_t>()[i] = v * 1000003 - 5;
        break;
      case DType::kI64:
        t.data<int64_t>()[i] = (int64_t{v} << 40) - 9;
        break;
      case DType::kU8:
        t.data<uint8_t>()[i] = static_cast<uint8_t>(v * 37);
        break;
      case DType::kBool:
        t.data<bool>()[i] = (v % 2) == 1;
        break;
      case DType::kBF16:
        t.data<BFloat16>()[i] = FloatToBFloat16(v * 0.25f - 3.0f);
        break;
      default:
        FAIL("unexpected dtype");
    }
  }
  return t;
}

struct VarSpec {
  std::string name;
  DType dtype;
  Shape shape;
};

const std::vector<VarSpec> kRoundTripVars = {
    {"f32_matrix", DType::kF32, Shape{2, 3}},   {"f64_vector", DType::kF64, Shape{4}},
    {"i32_scalar", DType::kI32, Shape{}},       {"i64_cube", DType::kI64, Shape{2, 1, 2}},
    {"bool_vector", DType::kBool, Shape{5}},    {"u8_vector", DType::kU8, Shape{3}},
    {"bf16_matrix", DType::kBF16, Shape{2, 2}}, {"empty", DType::kF32, Shape{0, 3}},
    {"block/long", DType::kF32, Shape{70}},
};

// Variables initialised from seed 1 values, with an Assign "<name>/update" to
// seed 2 values each, and "init".
std::unique_ptr<Graph> BuildGraph(const std::vector<VarSpec>& vars) {
  Scope root = Scope::NewRootScope();
  for (const VarSpec& v : vars) {
    Output var = Variable(root.WithOpName(v.name), v.shape, v.dtype,
                          Const(root, MakeValues(v.dtype, v.shape, 1)));
    Assign(root.WithOpName(v.name + "/update"), var, Const(root, MakeValues(v.dtype, v.shape, 2)));
  }
  InitAllVariables(root.WithOpName("init"));
  REQUIRE(root.ok());
  return root.graph()->Clone();
}

std::unique_ptr<Session> MakeSession(const Graph& graph) {
  auto session = Session::Create(graph);
  REQUIRE(session.ok());
  return std::move(*session);
}

std::vector<std::string> Names(const std::vector<VarSpec>& vars) {
  std::vector<std::string> names;
  for (const VarSpec& v : vars) names.push_back(v.name);
  return names;
}

std::vector<Tensor> Fetch(Session& session, const std::vector<std::string>& names) {
  auto values = session.Run({}, names);
  REQUIRE(values.ok());
  // Deep copies: later updates in place must not change what was fetched.
  std::vector<Tensor> copies;
  for (const Tensor& t : *values) copies.push_back(t.Clone());
  return copies;
}

void CheckSame(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected,
               const std::vector<std::string>& names) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("variable " << names[i] << ": " << actual[i].DebugString() << " vs "
                     << expected[i].DebugString());
    CHECK(actual[i].BitwiseEquals(expected[i]));
  }
}

TEST_CASE("Every dtype and shape survives a save and a restore into a fresh session") {
  TempDir dir;
  const std::string path = dir.Path("model.ckpt");
  auto graph = BuildGraph(kRoundTripVars);
  const std::vector<std::string> names = Names(kRoundTripVars);

  auto source = MakeSession(*graph);
  REQUIRE(source->Run({}, {}, {"init"}).ok());
  std::vector<std::string> updates;
  for (const std::string& n : names) updates.push_back(n + "/update");
  REQUIRE(source->Run({}, {}, updates).ok());
  const std::vector<Tensor> saved = Fetch(*source, names);
  // The values are the updated ones, not the initial ones.
  CHECK(saved[0].ToVector<float>() ==
        std::vector<float>{-6.25f, -4.75f, -3.25f, -1.75f, -0.25f, 1.25f});
  CHECK(saved[2].data<int32_t>()[0] == 2 * 1000003 - 5);
  REQUIRE(source->SaveCheckpoint(path).ok());
  CHECK(dir.Files() == std::vector<std::string>{"model.ckpt"});

  // The restored session never runs an initializer.
  auto restored = MakeSession(*graph);
  REQUIRE(restored->RestoreCheckpoint(path).ok());
  CheckSame(Fetch(*restored, names), saved, names);

  // Restoring over initialised variables replaces their values, and the
  // session keeps computing with them.
  auto other = MakeSession(*graph);
  REQUIRE(other->Run({}, {}, {"init"}).ok());
  REQUIRE(other->RestoreCheckpoint(path).ok());
  CheckSame(Fetch(*other, names), saved, names);
  REQUIRE(other->Run({}, {}, {"init"}).ok());
  CHECK(Fetch(*other, {"i32_scalar"})[0].data<int32_t>()[0] == 1 * 1000003 - 5);
}

TEST_CASE("The file holds magic, header length, header CRC, header and aligned data") {
  TempDir dir;
  const std::string path = dir.Path("layout.ckpt");
  auto graph = BuildGraph(kRoundTripVars);
  auto session = MakeSession(*graph);
  REQUIRE(session->Run({}, {}, {"init"}).ok());
  REQUIRE(session->SaveCheckpoint(path).ok());

  const std::string bytes = ReadAll(path);
  REQUIRE(bytes.size() > 20);
  CHECK(bytes.substr(0, 8) == "SLUICKPT");
  const uint64_t header_size = LoadU64(bytes, 8);
  REQUIRE(20 + header_size <= bytes.size());
  const std::string header_bytes = bytes.substr(20, header_size);
  uint32_t header_crc = 0;
  for (int i = 0; i < 4; ++i) {
    header_crc |= uint32_t{static_cast<unsigned char>(bytes[16 + i])} << (8 * i);
  }
  CHECK(header_crc == Crc32c(header_bytes));
  proto::CheckpointHeader header;
  REQUIRE(header.ParseFromString(header_bytes));
  CHECK(header.format_version() == 1);

  // Sorted by name, each at a 64-byte boundary after the header, with the
  // variable's raw bytes and their CRC.
  std::vector<std::string> sorted = Names(kRoundTripVars);
  std::sort(sorted.begin(), sorted.end());
  REQUIRE(header.tensor_size() == static_cast<int>(sorted.size()));
  const std::vector<Tensor> values = Fetch(*session, sorted);
  uint64_t end = 20 + header_size;
  for (int i = 0; i < header.tensor_size(); ++i) {
    const proto::CheckpointTensor& t = header.tensor(i);
    INFO("tensor " << t.name());
    CHECK(t.name() == sorted[i]);
    CHECK(static_cast<DType>(t.dtype()) == values[i].dtype());
    CHECK(Shape(absl::Span<const int64_t>(t.dim().data(), t.dim().size())) == values[i].shape());
    CHECK(t.offset() % 64 == 0);
    CHECK(t.offset() >= end);
    CHECK(t.length() == values[i].num_bytes());
    REQUIRE(t.offset() + t.length() <= bytes.size());
    const std::string data = bytes.substr(t.offset(), t.length());
    CHECK(data == std::string(static_cast<const char*>(values[i].raw_data()), t.length()));
    CHECK(t.crc32c() == Crc32c(data));
    // Padding is zeros.
    CHECK(bytes.substr(end, t.offset() - end) == std::string(t.offset() - end, '\0'));
    end = t.offset() + t.length();
  }
  CHECK(end == bytes.size());

  auto listed = ListCheckpoint(path);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == sorted.size());
  CHECK((*listed)[0].name == "bf16_matrix");
  CHECK((*listed)[0].dtype == DType::kBF16);
  CHECK((*listed)[0].shape == Shape({2, 2}));
  CHECK((*listed)[3].name == "empty");
  CHECK((*listed)[3].shape == Shape({0, 3}));
  CHECK((*listed)[4].name == "f32_matrix");
  CHECK((*listed)[4].shape == Shape({2, 3}));
  CHECK((*listed)[6].name == "i32_scalar");
  CHECK((*listed)[6].shape == Shape{});
}

// A session over w (f32[2]) and b (i32[3]) with values from `seed`.
struct Victim {
  static constexpr int kSeed = 5;
  explicit Victim(const std::vector<VarSpec>& vars) : names(Names(vars)) {
    graph = BuildGraph(vars);
    session = MakeSession(*graph);
    REQUIRE(session->Run({}, {}, {"init"}).ok());
    before = Fetch(*session, names);
  }
  // The variables must still hold their values from before the failed restore.
  void CheckUnchanged() { CheckSame(Fetch(*session, names), before, names); }

  std::vector<std::string> names;
  std::unique_ptr<Graph> graph;
  std::unique_ptr<Session> session;
  std::vector<Tensor> before;
};

const std::vector<VarSpec> kSmallVars = {{"w", DType::kF32, Shape{2}},
                                         {"b", DType::kI32, Shape{3}}};

// A checkpoint of kSmallVars holding their updated (seed 2) values.
std::string SaveSmall(const TempDir& dir) {
  const std::string path = dir.Path("small.ckpt");
  auto graph = BuildGraph(kSmallVars);
  auto session = MakeSession(*graph);
  REQUIRE(session->Run({}, {}, {"init"}).ok());
  REQUIRE(session->Run({}, {}, std::vector<std::string>{"w/update", "b/update"}).ok());
  REQUIRE(session->SaveCheckpoint(path).ok());
  return path;
}

void CheckError(const absl::Status& status, absl::StatusCode code,
                const std::vector<std::string>& fragments) {
  INFO(status.ToString());
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == code);
  for (const std::string& f : fragments) CHECK_THAT(std::string(status.message()), Contains(f));
}

TEST_CASE("A variable missing from the file fails the restore and changes nothing") {
  TempDir dir;
  const std::string path = SaveSmall(dir);
  Victim victim({{"w", DType::kF32, Shape{2}},
                 {"b", DType::kI32, Shape{3}},
                 {"extra", DType::kF64, Shape{1}}});
  CheckError(victim.session->RestoreCheckpoint(path), absl::StatusCode::kNotFound,
             {"checkpoint '" + path + "' has no variable 'extra'", "f64[1]"});
  victim.CheckUnchanged();
}

TEST_CASE("Variables in the file that the graph lacks are ignored") {
  TempDir dir;
  const std::string path = SaveSmall(dir);
  Victim victim({{"w", DType::kF32, Shape{2}}});
  REQUIRE(victim.session->RestoreCheckpoint(path).ok());
  CHECK(Fetch(*victim.session, {"w"})[0].ToVector<float>() ==
        MakeValues(DType::kF32, Shape{2}, 2).ToVector<float>());
}

TEST_CASE("A dtype or shape mismatch names the variable, the file and both types") {
  TempDir dir;
  const std::string path = SaveSmall(dir);
  SECTION("dtype") {
    Victim victim({{"w", DType::kF32, Shape{2}}, {"b", DType::kI64, Shape{3}}});
    CheckError(victim.session->RestoreCheckpoint(path), absl::StatusCode::kInvalidArgument,
               {"variable 'b' is i64[3] in the graph but i32[3] in checkpoint '" + path + "'"});
    victim.CheckUnchanged();
  }
  SECTION("shape") {
    Victim victim({{"w", DType::kF32, Shape{2}}, {"b", DType::kI32, Shape{1, 3}}});
    CheckError(victim.session->RestoreCheckpoint(path), absl::StatusCode::kInvalidArgument,
               {"variable 'b' is i32[1,3] in the graph but i32[3] in checkpoint '" + path + "'"});
    victim.CheckUnchanged();
  }
}

TEST_CASE("A nonexistent file is NotFound naming it") {
  TempDir dir;
  Victim victim(kSmallVars);
  const std::string path = dir.Path("nope.ckpt");
  CheckError(victim.session->RestoreCheckpoint(path), absl::StatusCode::kNotFound,
             {"cannot open checkpoint '" + path + "'"});
  CheckError(ListCheckpoint(path).status(), absl::StatusCode::kNotFound, {path});
  victim.CheckUnchanged();
}

TEST_CASE("A truncated file is DataLoss wherever it is cut") {
  TempDir dir;
  const std::string good = ReadAll(SaveSmall(dir));
  const uint64_t header_end = 20 + LoadU64(good, 8);
  Victim victim(kSmallVars);
  const std::string path = dir.Path("cut.ckpt");
  for (size_t cut : {size_t{0}, size_t{4}, size_t{8}, size_t{12}, size_t{19}, size_t{20},
                     static_cast<size_t>(header_end - 3), static_cast<size_t>(header_end),
                     static_cast<size_t>(header_end + 10), good.size() - 9, good.size() - 1}) {
    INFO("cut at " << cut << " of " << good.size());
    WriteAll(path, good.substr(0, cut));
    CheckError(victim.session->RestoreCheckpoint(path), absl::StatusCode::kDataLoss,
               {"checkpoint '" + path + "' is truncated"});
  }
  victim.CheckUnchanged();
}

TEST_CASE("A flipped byte in a tensor's data is a CRC error naming the variable") {
  TempDir dir;
  std::string bytes = ReadAll(SaveSmall(dir));
  auto listed = ListCheckpoint(dir.Path("small.ckpt"));
  REQUIRE(listed.ok());
  REQUIRE((*listed)[1].name == "w");
  proto::CheckpointHeader header;
  REQUIRE(header.ParseFromString(bytes.substr(20, LoadU64(bytes, 8))));
  bytes[header.tensor(1).offset() + 5] ^= 0x10;  // inside w's second float
  const std::string path = dir.Path("flipped.ckpt");
  WriteAll(path, bytes);
  Victim victim(kSmallVars);
  CheckError(victim.session->RestoreCheckpoint(path), absl::StatusCode::kDataLoss,
             {"checkpoint '" + path + "': the data of variable 'w' is corrupt", "CRC32C"});
  victim.CheckUnchanged();
}

TEST_CASE("A flipped byte in the header and a bad magic are rejected") {
  TempDir dir;
  const std::string good = ReadAll(SaveSmall(dir));
  const std::string path = dir.Path("bad.ckpt");
  Victim victim(kSmallVars);
  SECTION("header") {
    for (size_t at : {size_t{21}, size_t{20 + LoadU64(good, 8) - 1}}) {
      std::string bytes = good;
      bytes[at] ^= 0x01;
      WriteAll(path, bytes);
      CheckError(victim.session->RestoreCheckpoint(path), absl::StatusCode::kDataLoss,
                 {"checkpoint '" + path + "' is corrupt: the header's CRC32C"});
    }
  }
  SECTION("header CRC") {
    std::string bytes = good;
    bytes[17] ^= 0x40;
    WriteAll(path, bytes);
    CheckError(victim.session->RestoreCheckpoint(path), absl::StatusCode::kDataLoss,
               {"the header's CRC32C"});
  }
  SECTION("magic") {
    std::string bytes = good;
    bytes[0] = 'X';
    WriteAll(path, bytes);
    CheckError(victim.session->RestoreCheckpoint(path), absl::StatusCode::kInvalidArgument,
               {"'" + path + "' is not a Sluice checkpoint"});
    WriteAll(path, "PK\x03\x04 this is some zip file, not a checkpoint");
    CheckError(ListCheckpoint(path).status(), absl::StatusCode::kInvalidArgument,
               {"is not a Sluice checkpoint"});
  }
  victim.CheckUnchanged();
}

// A file with a hand-made header (correct header CRC) followed by `data`
// zero-padded to byte 256.
std::string CraftFile(const proto::CheckpointHeader& header, const std::string& data) {
  std::string h;
  REQUIRE(header.SerializeToString(&h));
  std::string out = "SLUICKPT";
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((h.size() >> (8 * i)) & 0xff));
  const uint32_t crc = Crc32c(h);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  out += h;
  REQUIRE(out.size() <= 256);
  out.resize(256, '\0');
  return out + data;
}

TEST_CASE("Inconsistent headers are rejected with the tensor at fault") {
  TempDir dir;
  const std::string path = dir.Path("crafted.ckpt");
  const float w[2] = {1.0f, 2.0f};
  const std::string data(reinterpret_cast<const char*>(w), sizeof w);
  proto::CheckpointHeader header;
  header.set_format_version(1);
  proto::CheckpointTensor* t = header.add_tensor();
  t->set_name("w");
  t->set_dtype(proto::DT_FLOAT);
  t->add_dim(2);
  t->set_offset(256);
  t->set_length(8);
  t->set_crc32c(Crc32c(data));
  Victim victim({{"w", DType::kF32, Shape{2}}});

  // The crafted file itself is good.
  WriteAll(path, CraftFile(header, data));
  REQUIRE(victim.session->RestoreCheckpoint(path).ok());
  CHECK(Fetch(*victim.session, {"w"})[0].ToVector<float>() == std::vector<float>{1, 2});
  victim.before = Fetch(*victim.session, {"w"});

  proto::CheckpointHeader bad = header;
  std::string fragment;
  absl::StatusCode code = absl::StatusCode::kDataLoss;
  SECTION("newer version") {
    bad.set_format_version(2);
    code = absl::StatusCode::kFailedPrecondition;
    fragment = "has format version 2; this build reads up to 1";
  }
  SECTION("misaligned offset") {
    bad.mutable_tensor(0)->set_offset(260);
    fragment = "tensor 0 ('w') has data offset 260, which is not a multiple of 64";
  }
  SECTION("length not matching the shape") {
    bad.mutable_tensor(0)->set_length(12);
    fragment = "tensor 0 ('w') is f32[2] (8 bytes) but records 12 bytes of data";
  }
  SECTION("data past the end") {
    bad.mutable_tensor(0)->set_offset(320);
    fragment = "is truncated: tensor 0 ('w') needs bytes 320 to 328 but the file has 264";
  }
  SECTION("duplicate names") {
    *bad.add_tensor() = bad.tensor(0);
    fragment = "tensors 0 and 1 are both named 'w'";
  }
  SECTION("invalid dtype") {
    bad.mutable_tensor(0)->set_dtype(static_cast<proto::DataType>(5));
    fragment = "tensor 0 ('w') has invalid dtype 5";
  }
  WriteAll(path, CraftFile(bad, data));
  CheckError(victim.session->RestoreCheckpoint(path), code, {"'" + path + "'", fragment});
  victim.CheckUnchanged();
}

TEST_CASE("A tensor name that is not UTF-8 is an error, with nothing printed") {
  // Found by fuzz/checkpoint_fuzzer: protobuf logged a line to stderr for
  // each such header, on top of the returned error.
  TempDir dir;
  const std::string path = dir.Path("bad_name.ckpt");
  proto::CheckpointHeader header;
  header.set_format_version(1);
  proto::CheckpointTensor* t = header.add_tensor();
  t->set_name("w\xff");
  t->set_dtype(proto::DT_FLOAT);
  WriteAll(path, CraftFile(header, ""));

  std::fflush(stderr);
  const std::string captured_path = dir.Path("stderr.txt");
  const int saved = ::dup(2);
  const int fd = ::open(captured_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  ::dup2(fd, 2);
  ::close(fd);
  auto entries = ListCheckpoint(path);
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);

  REQUIRE_FALSE(entries.ok());
  CHECK(entries.status().code() == absl::StatusCode::kDataLoss);
  CHECK(entries.status().message() ==
        "checkpoint '" + path + "' is corrupt: the header message does not parse");
  CHECK(ReadAll(captured_path).empty());
}

TEST_CASE("Saving needs a writable directory and initialised variables") {
  TempDir dir;
  auto graph = BuildGraph(kSmallVars);
  auto session = MakeSession(*graph);

  // Nothing initialised yet: the error names a variable and the fix.
  CheckError(session->SaveCheckpoint(dir.Path("early.ckpt")), absl::StatusCode::kFailedPrecondition,
             {"cannot save checkpoint", "variable 'w' has no value", "initializer"});
  CHECK(dir.Files().empty());

  REQUIRE(session->Run({}, {}, {"init"}).ok());
  const std::string missing_dir = dir.Path("no/such/dir/model.ckpt");
  CheckError(session->SaveCheckpoint(missing_dir), absl::StatusCode::kNotFound,
             {"cannot write checkpoint '" + missing_dir + "'", "No such file or directory"});
  WriteAll(dir.Path("plain_file"), "x");
  const std::string under_file = dir.Path("plain_file/model.ckpt");
  CheckError(session->SaveCheckpoint(under_file), absl::StatusCode::kNotFound,
             {"cannot write checkpoint '" + under_file + "'", "Not a directory"});
  CheckError(session->SaveCheckpoint(""), absl::StatusCode::kInvalidArgument,
             {"checkpoint path is empty"});

  // Saving twice replaces the file and leaves no temporary files behind.
  const std::string path = dir.Path("model.ckpt");
  REQUIRE(session->SaveCheckpoint(path).ok());
  REQUIRE(session->Run({}, {}, {"w/update"}).ok());
  REQUIRE(session->SaveCheckpoint(path).ok());
  CHECK(dir.Files() == std::vector<std::string>{"model.ckpt", "plain_file"});
  auto fresh = MakeSession(*graph);
  REQUIRE(fresh->RestoreCheckpoint(path).ok());
  CHECK(Fetch(*fresh, {"w"})[0].ToVector<float>() ==
        MakeValues(DType::kF32, Shape{2}, 2).ToVector<float>());
}

TEST_CASE("The store-level API saves what the store holds") {
  TempDir dir;
  VariableStore store;
  auto slot = store.GetOrCreate("v", DType::kI64, Shape{3});
  REQUIRE(slot.ok());
  CheckError(SaveCheckpoint(store, dir.Path("a.ckpt")), absl::StatusCode::kFailedPrecondition,
             {"variable 'v' has no value"});
  (*slot)->Set(Tensor::FromVector<int64_t>({-1, 0, int64_t{1} << 62}));
  REQUIRE(SaveCheckpoint(store, dir.Path("a.ckpt")).ok());

  auto graph = BuildGraph({{"v", DType::kI64, Shape{3}}});
  VariableStore restored;
  REQUIRE(RestoreCheckpoint(dir.Path("a.ckpt"), *graph, restored).ok());
  VariableSlot* v = restored.Find("v");
  REQUIRE(v != nullptr);
  REQUIRE(v->initialized());
  CHECK(v->value().ToVector<int64_t>() == std::vector<int64_t>{-1, 0, int64_t{1} << 62});

  // A store whose slot was declared otherwise than the graph is refused before
  // anything changes.
  VariableStore other;
  REQUIRE(other.GetOrCreate("v", DType::kI64, Shape{4}).ok());
  CheckError(RestoreCheckpoint(dir.Path("a.ckpt"), *graph, other),
             absl::StatusCode::kInvalidArgument,
             {"variable 'v' is i64[4] in this session but the graph declares i64[3]"});
  CHECK_FALSE(other.Find("v")->initialized());
}

}  // namespace
}  // namespace sluice
