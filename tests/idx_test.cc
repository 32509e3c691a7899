// IDX reading and writing, raw and gzip-compressed.
#include "runtime/idx.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/npy.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

std::string TempPath(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "sluice_idx_test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// The raw IDX bytes for a header and data given as byte values.
std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

void WriteRaw(const std::string& path, const std::string& bytes) {
  REQUIRE(WriteStringToFileAtomically(path, bytes).ok());
}

TEST_CASE("Parses big-endian IDX data of every type") {
  // u8 [2,3]
  auto u8 = ParseIdx(Bytes({0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 250, 5, 6}), "u8");
  REQUIRE(u8.ok());
  CHECK(u8->dtype() == DType::kU8);
  CHECK(u8->shape() == Shape({2, 3}));
  CHECK(u8->ToVector<uint8_t>() == std::vector<uint8_t>{1, 2, 3, 250, 5, 6});

  auto i8 = ParseIdx(Bytes({0, 0, 0x09, 1, 0, 0, 0, 2, 0xff, 0x80}), "i8");
  REQUIRE(i8.ok());
  CHECK(i8->ToVector<int8_t>() == std::vector<int8_t>{-1, -128});

  // i16 widens to i32 with sign extension.
  auto i16 = ParseIdx(Bytes({0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe}), "i16");
  REQUIRE(i16.ok());
  CHECK(i16->dtype() == DType::kI32);
  CHECK(i16->ToVector<int32_t>() == std::vector<int32_t>{258, -2});

  auto i32 = ParseIdx(Bytes({0, 0, 0x0C, 1, 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78}), "i32");
  REQUIRE(i32.ok());
  CHECK(i32->ToVector<int32_t>() == std::vector<int32_t>{0x12345678});

  // 1.5f is 0x3FC00000; 1.5 (double) is 0x3FF8000000000000.
  auto f32 = ParseIdx(Bytes({0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0}), "f32");
  REQUIRE(f32.ok());
  CHECK(f32->ToVector<float>() == std::vector<float>{1.5f});
  auto f64 = ParseIdx(Bytes({0, 0, 0x0E, 1, 0, 0, 0, 1, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}), "f64");
  REQUIRE(f64.ok());
  CHECK(f64->ToVector<double>() == std::vector<double>{1.5});

  // Rank 0 holds one element; a zero dim holds none.
  auto scalar = ParseIdx(Bytes({0, 0, 0x08, 0, 42}), "scalar");
  REQUIRE(scalar.ok());
  CHECK(scalar->shape().rank() == 0);
  CHECK(scalar->data<uint8_t>()[0] == 42);
  auto empty = ParseIdx(Bytes({0, 0, 0x0D, 2, 0, 0, 0, 0, 0, 0, 0, 5}), "empty");
  REQUIRE(empty.ok());
  CHECK(empty->shape() == Shape({0, 5}));
}

TEST_CASE("Round-trips every writable dtype raw and gzipped") {
  const bool gzip = GENERATE(false, true);
  const std::string suffix = gzip ? ".gz" : "";
  SECTION("u8") {
    auto t = *Tensor::FromVector<uint8_t>({0, 1, 127, 128, 255, 9}, Shape{3, 2});
    const std::string path = TempPath("u8.idx" + suffix);
    REQUIRE(WriteIdx(path, t, gzip).ok());
    auto back = ReadIdx(path);
    REQUIRE(back.ok());
    CHECK(back->BitwiseEquals(t));
  }
  SECTION("i8") {
    auto t = *Tensor::FromVector<int8_t>({-128, -1, 0, 127}, Shape{2, 2});
    const std::string path = TempPath("i8.idx" + suffix);
    REQUIRE(WriteIdx(path, t, gzip).ok());
    auto back = ReadIdx(path);
    REQUIRE(back.ok());
    CHECK(back->BitwiseEquals(t));
  }
  SECTION("i32") {
    auto t = *Tensor::FromVector<int32_t>({-2147483647 - 1, -1, 0, 65536, 2147483647}, Shape{5});
    const std::string path = TempPath("i32.idx" + suffix);
    REQUIRE(WriteIdx(path, t, gzip).ok());
    auto back = ReadIdx(path);
    REQUIRE(back.ok());
    CHECK(back->BitwiseEquals(t));
  }
  SECTION("f32") {
    auto t = *Tensor::FromVector<float>({1.5f, -0.25f, 3e38f, 0.0f, -7.0f, 1e-30f}, Shape{1, 2, 3});
    const std::string path = TempPath("f32.idx" + suffix);
    REQUIRE(WriteIdx(path, t, gzip).ok());
    auto back = ReadIdx(path);
    REQUIRE(back.ok());
    CHECK(back->BitwiseEquals(t));
  }
  SECTION("f64") {
    auto t = *Tensor::FromVector<double>({1.5, -1e300, 0.1}, Shape{3});
    const std::string path = TempPath("f64.idx" + suffix);
    REQUIRE(WriteIdx(path, t, gzip).ok());
    auto back = ReadIdx(path);
    REQUIRE(back.ok());
    CHECK(back->BitwiseEquals(t));
  }
  SECTION("i16 written by hand") {
    const std::string raw = Bytes({0, 0, 0x0B, 1, 0, 0, 0, 3, 0x80, 0x00, 0x7f, 0xff, 0, 5});
    const std::string path = TempPath("i16.idx" + suffix);
    WriteRaw(path, gzip ? *GzipBytes(raw) : raw);
    auto back = ReadIdx(path);
    REQUIRE(back.ok());
    CHECK(back->ToVector<int32_t>() == std::vector<int32_t>{-32768, 32767, 5});
  }
}

TEST_CASE("Writes big-endian bytes and a gzip stream") {
  auto t = *Tensor::FromVector<int32_t>({1, 256}, Shape{2});
  auto bytes = SerializeIdx(t);
  REQUIRE(bytes.ok());
  CHECK(*bytes == Bytes({0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 0}));
  const std::string path = TempPath("written.gz");
  REQUIRE(WriteIdx(path, t, /*gzip=*/true).ok());
  auto file = ReadFileToString(path);
  REQUIRE(file.ok());
  REQUIRE(file->size() > 2);
  CHECK(static_cast<unsigned char>((*file)[0]) == 0x1f);
  CHECK(static_cast<unsigned char>((*file)[1]) == 0x8b);
  CHECK(*GunzipBytes(*file, "x") == *bytes);
}

TEST_CASE("Detects gzip by content, not by name") {
  auto t = Tensor::FromVector<uint8_t>({4, 5, 6});
  const std::string gz_plain_name = TempPath("compressed-but-named-plain");
  REQUIRE(WriteIdx(gz_plain_name, t, /*gzip=*/true).ok());
  auto a = ReadIdx(gz_plain_name);
  REQUIRE(a.ok());
  CHECK(a->BitwiseEquals(t));
  const std::string raw_gz_name = TempPath("plain-but-named.gz");
  REQUIRE(WriteIdx(raw_gz_name, t, /*gzip=*/false).ok());
  auto b = ReadIdx(raw_gz_name);
  REQUIRE(b.ok());
  CHECK(b->BitwiseEquals(t));
}

TEST_CASE("Reads concatenated gzip members") {
  const std::string raw = Bytes({0, 0, 0x08, 1, 0, 0, 0, 4, 1, 2, 3, 4});
  const std::string path = TempPath("members.gz");
  WriteRaw(path, *GzipBytes(raw.substr(0, 6)) + *GzipBytes(raw.substr(6)));
  auto t = ReadIdx(path);
  REQUIRE(t.ok());
  CHECK(t->ToVector<uint8_t>() == std::vector<uint8_t>{1, 2, 3, 4});
}

TEST_CASE("IDX errors name the file and the problem") {
  SECTION("missing file") {
    auto t = ReadIdx(TempPath("does-not-exist"));
    CHECK(t.status().code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(t.status().message()), Contains("does-not-exist"));
  }
  SECTION("bad magic") {
    const std::string path = TempPath("bad-magic");
    WriteRaw(path, Bytes({1, 0, 0x08, 1, 0, 0, 0, 1, 7}));
    auto t = ReadIdx(path);
    CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(t.status().message()), Contains("bad-magic") && Contains("magic"));
  }
  SECTION("too short for a header") {
    auto t = ParseIdx(Bytes({0, 0}), "short.idx");
    CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(t.status().message()), Contains("short.idx"));
  }
  SECTION("unknown type byte") {
    auto t = ParseIdx(Bytes({0, 0, 0x0A, 1, 0, 0, 0, 1, 7}), "odd.idx");
    CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(t.status().message()),
               Contains("odd.idx") && Contains("unknown type byte 0x0a"));
  }
  SECTION("dims cut short") {
    auto t = ParseIdx(Bytes({0, 0, 0x08, 3, 0, 0, 0, 1, 0, 0}), "dims.idx");
    CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(t.status().message()),
               Contains("dims.idx") && Contains("3 dims") && Contains("10 bytes"));
  }
  SECTION("data shorter than the dims say") {
    auto t = ParseIdx(Bytes({0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1}), "trunc.idx");
    CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(t.status().message()), Contains("trunc.idx") && Contains("[2]") &&
                                                      Contains("8 bytes") && Contains("holds 4") &&
                                                      Contains("truncated"));
  }
  SECTION("data longer than the dims say") {
    auto t = ParseIdx(Bytes({0, 0, 0x08, 1, 0, 0, 0, 2, 1, 2, 3}), "long.idx");
    CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(t.status().message()),
               Contains("long.idx") && Contains("holds 3") && Contains("trailing"));
  }
  SECTION("dims whose product overflows or is too large") {
    // 4 dims of 2^32-1: the product overflows int64.
    auto overflow = ParseIdx(Bytes({0,    0,    0x08, 4,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
                             "huge.idx");
    CHECK(overflow.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(overflow.status().message()), Contains("huge.idx"));
    // (2^32-1) x 2^16 f64 elements fit int64 but not the byte limit.
    auto big = ParseIdx(Bytes({0, 0, 0x0E, 2, 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0}), "big.idx");
    CHECK(big.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(big.status().message()),
               Contains("big.idx") && Contains("[4294967295,65536]") && Contains("bytes"));
  }
  SECTION("corrupt gzip") {
    std::string gz = *GzipBytes(Bytes({0, 0, 0x08, 1, 0, 0, 0, 3, 1, 2, 3}));
    gz[gz.size() / 2] = static_cast<char>(gz[gz.size() / 2] ^ 0x55);
    gz[gz.size() - 6] = static_cast<char>(gz[gz.size() - 6] ^ 0x55);  // the CRC
    const std::string path = TempPath("corrupt.gz");
    WriteRaw(path, gz);
    auto t = ReadIdx(path);
    CHECK(t.status().code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(t.status().message()),
               Contains("corrupt.gz") && Contains("corrupt gzip"));
  }
  SECTION("truncated gzip") {
    const std::string gz = *GzipBytes(std::string(1000, 'x'));
    const std::string path = TempPath("truncated.gz");
    WriteRaw(path, gz.substr(0, gz.size() - 10));
    auto t = ReadIdx(path);
    CHECK(t.status().code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(t.status().message()),
               Contains("truncated.gz") && Contains("truncated"));
  }
  SECTION("garbage after the gzip stream") {
    const std::string path = TempPath("stray.gz");
    WriteRaw(path, *GzipBytes(Bytes({0, 0, 0x08, 1, 0, 0, 0, 1, 9})) + "junk");
    auto t = ReadIdx(path);
    CHECK(t.status().code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(t.status().message()),
               Contains("stray.gz") && Contains("4 stray bytes"));
  }
  SECTION("gzip that inflates past the limit") {
    auto t = GunzipBytes(*GzipBytes(std::string(1 << 20, '\0')), "bomb.gz", 1000);
    CHECK(t.status().code() == absl::StatusCode::kResourceExhausted);
    CHECK_THAT(std::string(t.status().message()), Contains("bomb.gz") && Contains("1000"));
  }
  SECTION("dtypes without an IDX type") {
    auto t = Tensor::FromVector<int64_t>({1, 2});
    const absl::Status s = WriteIdx(TempPath("i64.idx"), t, false);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(s.message()), Contains("i64.idx") && Contains("dtype i64"));
  }
}

// The real Fashion-MNIST files, when the dataset package is installed.
TEST_CASE("The data length is checked before the declared tensor is allocated") {
  // Found by fuzz/idx_fuzzer: a 17-byte file declaring 2^31 i16 elements
  // made the reader allocate 8 GiB before noticing the data was missing.
  // With a 1 MiB limit the truncation is reported, not the size, because
  // the check now comes first.
  auto t = ParseIdx(Bytes({0, 0, 0x0B, 1, 0x80, 0, 0, 0, 1, 2, 3}), "huge.idx",
                    /*max_bytes=*/int64_t{1} << 20);
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(t.status().message() ==
        "huge.idx: the IDX header declares [2147483648] elements of type 0x0b (4294967296 bytes "
        "of data) but the file holds 3 (truncated)");
  // A complete file over the limit is still refused for its size.
  auto big = ParseIdx(Bytes({0, 0, 0x08, 1, 0, 0, 0, 4, 1, 2, 3, 4}), "big.idx", /*max_bytes=*/2);
  REQUIRE_FALSE(big.ok());
  CHECK_THAT(std::string(big.status().message()),
             Contains("big.idx: IDX dims [4]") && Contains("would need more than 2 bytes"));
}

TEST_CASE("Reads Fashion-MNIST") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/train-labels-idx1-ubyte.gz")) {
    WARN("Fashion-MNIST not installed; skipped");
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  auto images = ReadIdx(dir + "/train-images-idx3-ubyte.gz");
  REQUIRE(images.ok());
  const double ms =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1000;
  WARN("read and inflated the training images in " << ms << " ms");
  CHECK(images->dtype() == DType::kU8);
  CHECK(images->shape() == Shape({60000, 28, 28}));
  auto labels = ReadIdx(dir + "/train-labels-idx1-ubyte.gz");
  REQUIRE(labels.ok());
  CHECK(labels->dtype() == DType::kU8);
  CHECK(labels->shape() == Shape({60000}));
  std::vector<int> counts(10, 0);
  bool in_range = true;
  for (uint8_t l : labels->flat<uint8_t>()) {
    if (l > 9) {
      in_range = false;
    } else {
      ++counts[l];
    }
  }
  CHECK(in_range);
  CHECK(counts == std::vector<int>(10, 6000));
  // The first training example is an ankle boot (class 9), and pixels span
  // the full u8 range.
  CHECK(labels->flat<uint8_t>()[0] == 9);
  uint8_t lo = 255, hi = 0;
  for (uint8_t p : images->flat<uint8_t>()) {
    lo = std::min(lo, p);
    hi = std::max(hi, p);
  }
  CHECK(lo == 0);
  CHECK(hi == 255);

  auto test_images = ReadIdx(dir + "/t10k-images-idx3-ubyte.gz");
  REQUIRE(test_images.ok());
  CHECK(test_images->shape() == Shape({10000, 28, 28}));
  auto test_labels = ReadIdx(dir + "/t10k-labels-idx1-ubyte.gz");
  REQUIRE(test_labels.ok());
  CHECK(test_labels->shape() == Shape({10000}));
  std::vector<int> test_counts(10, 0);
  for (uint8_t l : test_labels->flat<uint8_t>()) {
    if (l <= 9) ++test_counts[l];
  }
  CHECK(test_counts == std::vector<int>(10, 1000));
}

}  // namespace
}  // namespace sluice
