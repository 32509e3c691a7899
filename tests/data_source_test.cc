// Loading training data named on the command line.
#include "runtime/data_source.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/idx.h"
#include "runtime/npy.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

// A fresh, empty folder under the temp directory.
std::string FreshDir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "sluice_data_source_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// n images of 2x2 u8 whose pixels are all i, and labels i % 10, for i < n.
Tensor Images(int64_t n) {
  Tensor t(DType::kU8, Shape{n, 2, 2});
  for (int64_t i = 0; i < n * 4; ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(i / 4);
  return t;
}
Tensor Labels(int64_t n) {
  Tensor t(DType::kU8, Shape{n});
  for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(i % 10);
  return t;
}

TEST_CASE("Loads a folder of MNIST-style IDX files") {
  const bool gzip = GENERATE(false, true);
  const std::string dir = FreshDir(gzip ? "idx_gz" : "idx");
  const std::string ext = gzip ? ".gz" : "";
  REQUIRE(WriteIdx(dir + "/train-images-idx3-ubyte" + ext, Images(6), gzip).ok());
  REQUIRE(WriteIdx(dir + "/train-labels-idx1-ubyte" + ext, Labels(6), gzip).ok());
  auto train_only = LoadDataSplits(dir);
  REQUIRE(train_only.ok());
  CHECK(train_only->train.inputs.BitwiseEquals(Images(6)));
  CHECK(train_only->train.labels.BitwiseEquals(Labels(6)));
  CHECK(!train_only->test.has_value());

  REQUIRE(WriteIdx(dir + "/t10k-images-idx3-ubyte" + ext, Images(3), gzip).ok());
  REQUIRE(WriteIdx(dir + "/t10k-labels-idx1-ubyte" + ext, Labels(3), gzip).ok());
  auto both = LoadDataSplits(dir);
  REQUIRE(both.ok());
  REQUIRE(both->test.has_value());
  CHECK(both->test->inputs.shape() == Shape({3, 2, 2}));
  CHECK(both->test->labels.BitwiseEquals(Labels(3)));
}

TEST_CASE("Loads a folder of .npy files") {
  const std::string dir = FreshDir("npy");
  auto inputs = *Tensor::FromVector<float>({1, 2, 3, 4, 5, 6}, Shape{3, 2});
  auto labels = Tensor::FromVector<int64_t>({0, 1, 0});
  REQUIRE(WriteNpy(inputs, dir + "/train_inputs.npy").ok());
  REQUIRE(WriteNpy(labels, dir + "/train_labels.npy").ok());
  auto train_only = LoadDataSplits(dir);
  REQUIRE(train_only.ok());
  CHECK(train_only->train.inputs.BitwiseEquals(inputs));
  CHECK(train_only->train.labels.BitwiseEquals(labels));
  CHECK(!train_only->test.has_value());

  REQUIRE(WriteNpy(inputs, dir + "/test_inputs.npy").ok());
  REQUIRE(WriteNpy(labels, dir + "/test_labels.npy").ok());
  auto both = LoadDataSplits(dir);
  REQUIRE(both.ok());
  REQUIRE(both->test.has_value());
  CHECK(both->test->inputs.BitwiseEquals(inputs));
}

TEST_CASE("Loads an explicit list of files") {
  const std::string dir = FreshDir("list");
  auto x = *Tensor::FromVector<float>({1, 2, 3, 4}, Shape{2, 2});
  auto y = Tensor::FromVector<int32_t>({1, 0});
  auto tx = *Tensor::FromVector<float>({9, 9}, Shape{1, 2});
  auto ty = Tensor::FromVector<int32_t>({1});
  REQUIRE(WriteNpy(x, dir + "/x.npy").ok());
  REQUIRE(WriteNpy(y, dir + "/y.npy").ok());
  REQUIRE(WriteNpy(tx, dir + "/tx.npy").ok());
  REQUIRE(WriteNpy(ty, dir + "/ty.npy").ok());
  auto train_only = LoadDataSplits("train=" + dir + "/x.npy:" + dir + "/y.npy");
  REQUIRE(train_only.ok());
  CHECK(train_only->train.inputs.BitwiseEquals(x));
  CHECK(train_only->train.labels.BitwiseEquals(y));
  CHECK(!train_only->test.has_value());

  // Test first, train second: the order does not matter. IDX files work too.
  REQUIRE(WriteIdx(dir + "/ty.idx", ty, /*gzip=*/true).ok());
  auto both = LoadDataSplits("test=" + dir + "/tx.npy:" + dir + "/ty.idx,train=" + dir +
                             "/x.npy:" + dir + "/y.npy");
  REQUIRE(both.ok());
  REQUIRE(both->test.has_value());
  CHECK(both->test->inputs.BitwiseEquals(tx));
  CHECK(both->test->labels.BitwiseEquals(ty));
}

TEST_CASE("Data spec errors name the spec and the file") {
  const std::string dir = FreshDir("errors");
  REQUIRE(WriteNpy(Images(4), dir + "/x.npy").ok());
  REQUIRE(WriteNpy(Labels(3), dir + "/y3.npy").ok());
  REQUIRE(WriteNpy(Labels(4), dir + "/y4.npy").ok());
  const std::string x = dir + "/x.npy";

  SECTION("empty spec") {
    CHECK(LoadDataSplits("").status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("no such folder") {
    auto s = LoadDataSplits(dir + "/nowhere");
    CHECK(s.status().code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(s.status().message()),
               Contains("nowhere") && Contains("no such folder"));
  }
  SECTION("a folder with none of the files lists the names") {
    const std::string empty = FreshDir("empty");
    auto s = LoadDataSplits(empty);
    CHECK(s.status().code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(s.status().message()),
               Contains(empty) && Contains("train-images-idx3-ubyte.gz") &&
                   Contains("train-labels-idx1-ubyte") && Contains("train_inputs.npy") &&
                   Contains("train_labels.npy"));
  }
  SECTION("training images without labels") {
    const std::string half = FreshDir("half");
    REQUIRE(WriteIdx(half + "/train-images-idx3-ubyte.gz", Images(2), true).ok());
    auto s = LoadDataSplits(half);
    CHECK(s.status().code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(s.status().message()),
               Contains("train-images-idx3-ubyte.gz but not train-labels-idx1-ubyte"));
  }
  SECTION("test inputs without test labels") {
    const std::string half = FreshDir("half_test");
    REQUIRE(WriteNpy(Images(2), half + "/train_inputs.npy").ok());
    REQUIRE(WriteNpy(Labels(2), half + "/train_labels.npy").ok());
    REQUIRE(WriteNpy(Images(2), half + "/test_inputs.npy").ok());
    auto s = LoadDataSplits(half);
    CHECK(s.status().code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(s.status().message()),
               Contains("test_inputs.npy but not test_labels.npy"));
  }
  SECTION("test data without training data") {
    const std::string half = FreshDir("only_test");
    REQUIRE(WriteIdx(half + "/t10k-images-idx3-ubyte", Images(2), false).ok());
    auto s = LoadDataSplits(half);
    CHECK(s.status().code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(s.status().message()),
               Contains("t10k-images-idx3-ubyte") && Contains("no training data"));
  }
  SECTION("inputs and labels disagree in N") {
    auto s = LoadDataSplits("train=" + x + ":" + dir + "/y3.npy");
    CHECK(s.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(s.status().message()),
               Contains("x.npy is u8[4,2,2]") && Contains("y3.npy is u8[3]"));
  }
  SECTION("a missing file in a list") {
    auto s = LoadDataSplits("train=" + x + ":" + dir + "/absent.npy");
    CHECK(s.status().code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(s.status().message()),
               Contains("data spec 'train=") && Contains("absent.npy"));
  }
  SECTION("a corrupt file") {
    REQUIRE(WriteStringToFileAtomically(dir + "/bad.npy", "not numpy").ok());
    auto s = LoadDataSplits("train=" + dir + "/bad.npy:" + dir + "/y4.npy");
    CHECK(s.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(s.status().message()), Contains("bad.npy"));
  }
  SECTION("malformed list parts") {
    for (const std::string& spec : std::vector<std::string>{"train=" + x, "train=" + x + ":",
                                                            "train=:" + x, "train=a:b:c", "=a:b"}) {
      auto s = LoadDataSplits(spec);
      CHECK(s.status().code() == absl::StatusCode::kInvalidArgument);
      CHECK_THAT(std::string(s.status().message()), Contains("not of the form"));
    }
    auto unknown = LoadDataSplits("valid=" + x + ":" + dir + "/y4.npy");
    CHECK_THAT(std::string(unknown.status().message()), Contains("unknown split 'valid'"));
    auto twice =
        LoadDataSplits("train=" + x + ":" + dir + "/y4.npy,train=" + x + ":" + dir + "/y4.npy");
    CHECK_THAT(std::string(twice.status().message()), Contains("'train' is given twice"));
    auto no_train = LoadDataSplits("test=" + x + ":" + dir + "/y4.npy");
    CHECK_THAT(std::string(no_train.status().message()), Contains("no train=INPUTS:LABELS"));
  }
}

}  // namespace
}  // namespace sluice
