// NumPy .npy reading and writing.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "runtime/npy.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

// A .npy v1.0 file with the given header dict and data bytes, padded as
// NumPy pads it.
std::string MakeNpy(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  if (major != 1) out.append(2, '\0');
  return out + header + data;
}

std::string Bytes(const void* p, size_t n) { return std::string(static_cast<const char*>(p), n); }

TEST_CASE("Reads what NumPy writes") {
  const float values[] = {1.5f, -2.0f, 3.25f, 0.0f, 5.0f, 6.0f};
  auto t = ParseNpy(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                            Bytes(values, sizeof values)),
                    "a.npy");
  REQUIRE(t.ok());
  CHECK(t->dtype() == DType::kF32);
  CHECK(t->shape() == Shape({2, 3}));
  CHECK(t->ToVector<float>() == std::vector<float>(std::begin(values), std::end(values)));

  const int64_t ids[] = {7, 8, 9};
  auto v = ParseNpy(MakeNpy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                            Bytes(ids, sizeof ids), 2),
                    "b.npy");
  REQUIRE(v.ok());
  CHECK(v->ToVector<int64_t>() == std::vector<int64_t>{7, 8, 9});

  const double scalar = 2.5;
  auto s = ParseNpy(MakeNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                            Bytes(&scalar, 8)),
                    "c.npy");
  REQUIRE(s.ok());
  CHECK(s->shape().rank() == 0);
  CHECK(s->data<double>()[0] == 2.5);

  auto empty = ParseNpy(MakeNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 4), }", ""),
                        "d.npy");
  REQUIRE(empty.ok());
  CHECK(empty->num_elements() == 0);
}

TEST_CASE("Big-endian data is byte-swapped") {
  const unsigned char be[] = {0, 0, 0, 1, 0, 0, 1, 0};
  auto t = ParseNpy(MakeNpy("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                            Bytes(be, sizeof be)),
                    "be.npy");
  REQUIRE(t.ok());
  CHECK(t->ToVector<int32_t>() == std::vector<int32_t>{1, 256});
}

TEST_CASE("Round trip through a file for every NumPy dtype") {
  const auto dir = std::filesystem::temp_directory_path() / "sluice_npy_test";
  std::filesystem::create_directories(dir);
  const std::vector<Tensor> tensors = {
      *Tensor::FromVector<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3}),
      Tensor::FromVector<double>({1e-300, 2}),
      Tensor::FromVector<int32_t>({-1, 0, 1}),
      Tensor::FromVector<int64_t>({1LL << 40}),
      Tensor::FromVector<uint8_t>({0, 255}),
      Tensor::FromVector<int8_t>({-128, 127}),
      Tensor::FromVector<bool>({true, false, true}),
      Tensor::Scalar(3.0f),
      Tensor::Zeros(DType::kF16, Shape{2, 2}),
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    INFO(tensors[i].DebugString());
    const std::string path = (dir / ("t" + std::to_string(i) + ".npy")).string();
    REQUIRE(WriteNpy(tensors[i], path).ok());
    auto back = ReadNpy(path);
    REQUIRE(back.ok());
    CHECK(back->BitwiseEquals(tensors[i]));
    // The data starts on a 64-byte boundary, as NumPy lays it out.
    auto bytes = ReadFileToString(path);
    REQUIRE(bytes.ok());
    CHECK((bytes->size() - tensors[i].num_bytes()) % 64 == 0);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("A header over 64 KiB is written in format 2.0 and reads back") {
  // 30000 dimensions of size 1 spell a shape tuple of about 90 KB, more than
  // format 1.0's two-byte header length can hold.
  std::vector<int64_t> dims(30000, 1);
  Tensor tensor(DType::kF32, Shape(absl::MakeConstSpan(dims)));
  tensor.data<float>()[0] = 2.5f;
  auto bytes = SerializeNpy(tensor);
  REQUIRE(bytes.ok());
  CHECK(bytes->substr(6, 2) == std::string("\x02\x00", 2));
  const size_t header_len = static_cast<unsigned char>((*bytes)[8]) |
                            static_cast<size_t>(static_cast<unsigned char>((*bytes)[9])) << 8 |
                            static_cast<size_t>(static_cast<unsigned char>((*bytes)[10])) << 16;
  CHECK(header_len > 0xffff);
  CHECK((12 + header_len) % 64 == 0);
  CHECK((*bytes)[12 + header_len - 1] == '\n');
  auto back = ParseNpy(*bytes, "wide.npy");
  REQUIRE(back.ok());
  CHECK(back->BitwiseEquals(tensor));

  // Small headers stay in format 1.0, which every NumPy reads.
  auto small = SerializeNpy(Tensor::Scalar(1.0f));
  REQUIRE(small.ok());
  CHECK(small->substr(6, 2) == std::string("\x01\x00", 2));
}

TEST_CASE("Malformed or unsupported files are one clear error naming the file") {
  auto error = [](const std::string& bytes) {
    auto t = ParseNpy(bytes, "x.npy");
    REQUIRE_FALSE(t.ok());
    return std::string(t.status().message());
  };
  CHECK_THAT(error("not numpy"), Contains("x.npy: not a valid .npy file: missing the \\x93NUMPY "
                                          "magic"));
  const std::string good = MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                   std::string(8, '\0'));
  for (size_t cut = 0; cut < good.size(); ++cut) {
    INFO("cut at " << cut);
    CHECK_FALSE(ParseNpy(good.substr(0, cut), "x.npy").ok());
  }
  CHECK_THAT(error(good.substr(0, good.size() - 1)),
             Contains("x.npy: the header declares f32[2] (8 bytes of data) but the file holds 7"));
  CHECK_THAT(error(MakeNpy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                           std::string(8, '\0'))),
             Contains("x.npy: unsupported .npy dtype '<c8'"));
  CHECK_THAT(error(MakeNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                           std::string(4, '\0'))),
             Contains("x.npy: the array is in Fortran order"));
  CHECK_THAT(error(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "")),
             Contains("bad dimension '-1'"));
  CHECK_THAT(error(MakeNpy("{'descr': '<f4', 'fortran_order': False}", "")),
             Contains("header has no 'shape'"));
  CHECK_THAT(error(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", "")),
             Contains("x.npy:"));
  CHECK_THAT(error(MakeNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }",
                           std::string(1, '\x07'))),
             Contains("bool element 0 is 7"));
  auto missing = ReadNpy("/nonexistent/dir/a.npy");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.status().message()), Contains("/nonexistent/dir/a.npy: no such file"));
}

TEST_CASE("The data length is checked before the declared array is allocated") {
  // The reader allocated the declared array before comparing the data length
  // (the bug fuzz/idx_fuzzer found in the IDX reader), so a 132-byte file
  // could claim up to 16 GiB. With a 1 MiB limit the truncation is reported,
  // not the size, because the check now comes first.
  auto t = ParseNpy(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824,), }",
                            std::string(4, '\0')),
                    "huge.npy", /*max_bytes=*/int64_t{1} << 20);
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(t.status().message() ==
        "huge.npy: the header declares f32[1073741824] (4294967296 bytes of data) but the file "
        "holds 4");
  // A complete file over the limit is still refused for its size.
  auto big = ParseNpy(MakeNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (16,), }",
                              std::string(16, '\0')),
                      "big.npy", /*max_bytes=*/8);
  REQUIRE_FALSE(big.ok());
  CHECK_THAT(std::string(big.status().message()),
             Contains("big.npy: tensor u8[16] would need more than 8 bytes"));
}

TEST_CASE("Writing fails cleanly and leaves nothing behind") {
  auto unwritable = WriteNpy(Tensor::Scalar(1.0f), "/nonexistent/dir/out.npy");
  REQUIRE_FALSE(unwritable.ok());
  CHECK_THAT(std::string(unwritable.message()), Contains("/nonexistent/dir/out.npy: cannot write"));
  auto bf16 = SerializeNpy(Tensor::Zeros(DType::kBF16, Shape{1}));
  REQUIRE_FALSE(bf16.ok());
  CHECK_THAT(std::string(bf16.status().message()), Contains("bf16 has no NumPy equivalent"));
}

}  // namespace
}  // namespace sluice
