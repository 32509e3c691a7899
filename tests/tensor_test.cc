// Tensors: allocation, typed access, views, copies and printing.
#include <catch2/catch.hpp>

#include <cstdint>

#include "graph/tensor.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("Buffers are 64-byte aligned, even for empty tensors") {
  for (int64_t n : {0, 1, 3, 100}) {
    Tensor t(DType::kF32, Shape{n});
    CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % kTensorAlignment == 0);
    CHECK(t.num_elements() == n);
    CHECK(t.num_bytes() == static_cast<size_t>(n) * 4);
  }
}

TEST_CASE("Construction from vectors and scalars") {
  auto t = Tensor::FromVector<int32_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  REQUIRE(t.ok());
  CHECK(t->dtype() == DType::kI32);
  CHECK(t->shape().ToString() == "[2,3]");
  CHECK(t->ToVector<int32_t>() == std::vector<int32_t>{1, 2, 3, 4, 5, 6});
  CHECK(t->flat<int32_t>()[4] == 5);
  auto bad = Tensor::FromVector<float>({1, 2, 3}, Shape{2, 2});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()), Contains("tensor of shape [2,2] needs 4 values, got 3"));
  Tensor s = Tensor::Scalar(2.5);
  CHECK(s.dtype() == DType::kF64);
  CHECK(s.shape().rank() == 0);
  CHECK(Tensor::FromVector<bool>({true, false}).shape().ToString() == "[2]");
  Tensor z = Tensor::Zeros(DType::kI64, Shape{3});
  CHECK(z.ToVector<int64_t>() == std::vector<int64_t>{0, 0, 0});
  CHECK_FALSE(Tensor().valid());
}

TEST_CASE("ElementAsDouble reads every dtype") {
  CHECK(Tensor::Scalar(int8_t{-5}).ElementAsDouble(0) == -5);
  CHECK(Tensor::Scalar(uint8_t{200}).ElementAsDouble(0) == 200);
  CHECK(Tensor::Scalar(true).ElementAsDouble(0) == 1);
  CHECK(Tensor::Scalar(FloatToHalf(1.5f)).ElementAsDouble(0) == 1.5);
  CHECK(Tensor::Scalar(FloatToBFloat16(-2.0f)).ElementAsDouble(0) == -2.0);
  CHECK(Tensor::Scalar(int64_t{1} << 40).ElementAsDouble(0) == static_cast<double>(int64_t{1} << 40));
}

TEST_CASE("Copies share the buffer, Clone does not, Reshaped is a view") {
  Tensor a = Tensor::FromVector<float>({1, 2, 3, 4});
  Tensor shared = a;
  CHECK(shared.SharesBufferWith(a));
  Tensor deep = a.Clone();
  CHECK_FALSE(deep.SharesBufferWith(a));
  CHECK(deep.BitwiseEquals(a));
  auto view = a.Reshaped(Shape{2, 2});
  REQUIRE(view.ok());
  CHECK(view->SharesBufferWith(a));
  view->data<float>()[3] = 40;
  CHECK(a.data<float>()[3] == 40);
  CHECK(deep.data<float>()[3] == 4);
  CHECK_FALSE(deep.BitwiseEquals(a));
  auto bad = a.Reshaped(Shape{3});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("cannot reshape [4] (4 elements) to [3] (3 elements)"));
  CHECK_FALSE(a.BitwiseEquals(*a.Reshaped(Shape{4, 1})));
}

TEST_CASE("Allocate checks shapes and limits") {
  auto ok = Tensor::Allocate(DType::kF32, Shape{4, 4});
  REQUIRE(ok.ok());
  CHECK(ok->num_elements() == 16);
  auto big = Tensor::Allocate(DType::kF32, Shape{1000, 1000}, 1000);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(big.status().message()),
             Contains("tensor f32[1000,1000] would need more than 1000 bytes"));
  auto overflow = Tensor::Allocate(DType::kF64, Shape{int64_t{1} << 40, int64_t{1} << 40});
  CHECK_THAT(std::string(overflow.status().message()), Contains("more elements than int64 can count"));
  auto unknown = Tensor::Allocate(DType::kF32, Shape{kUnknownDim});
  CHECK_FALSE(unknown.ok());
  CHECK_FALSE(Tensor::Allocate(DType::kInvalid, Shape{1}).ok());
}

TEST_CASE("DebugString prints nested values and elides long dims") {
  CHECK(Tensor::Scalar(3.5f).DebugString() == "f32[] 3.5");
  CHECK(Tensor::FromVector<float>({1, 2, 3}).DebugString() == "f32[3] [1, 2, 3]");
  CHECK((*Tensor::FromVector<int32_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3})).DebugString() ==
        "i32[2,3] [[1, 2, 3], [4, 5, 6]]");
  CHECK(Tensor::FromVector<bool>({true, false}).DebugString() == "bool[2] [true, false]");
  std::vector<int64_t> many(100);
  for (int i = 0; i < 100; ++i) many[i] = i;
  CHECK(Tensor::FromVector<int64_t>(many).DebugString(6) == "i64[100] [0, 1, 2, ..., 97, 98, 99]");
  CHECK(Tensor::Zeros(DType::kF32, Shape{0, 3}).DebugString() == "f32[0,3] []");
  CHECK(Tensor().DebugString() == "<invalid tensor>");
}

TEST_CASE("WrapBuffer views memory owned elsewhere") {
  auto owner = std::shared_ptr<void>(new float[8], [](void* p) { delete[] static_cast<float*>(p); });
  float* base = static_cast<float*>(owner.get());
  for (int i = 0; i < 8; ++i) base[i] = static_cast<float>(i);
  Tensor t = Tensor::WrapBuffer(DType::kF32, Shape{2, 2}, owner, base + 4);
  CHECK(t.ToVector<float>() == std::vector<float>{4, 5, 6, 7});
}

}  // namespace
}  // namespace sluice
