// The tf.data-like input pipeline.
#include "runtime/dataset.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace sluice {
namespace {

using Catch::Matchers::Contains;

// x[i] = [i, 100 + i] (i32) and y[i] = i (i64), for i < n.
Dataset Numbers(int64_t n) {
  std::vector<int32_t> x;
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<int32_t>(i));
    x.push_back(static_cast<int32_t>(100 + i));
    y.push_back(i);
  }
  auto ds = Dataset::FromTensorSlices(
      {*Tensor::FromVector(x, Shape{n, 2}), *Tensor::FromVector(y, Shape{n})});
  REQUIRE(ds.ok());
  return *ds;
}

std::vector<Element> Drain(const Dataset& ds, int64_t limit = 100000) {
  auto it = ds.MakeIterator();
  REQUIRE(it.ok());
  std::vector<Element> out;
  while (static_cast<int64_t>(out.size()) < limit) {
    auto e = (*it)->Next();
    REQUIRE(e.ok());
    if (!e->has_value()) break;
    out.push_back(std::move(**e));
  }
  return out;
}

// The i64 labels (component 1) of each element, concatenated.
std::vector<int64_t> Labels(const std::vector<Element>& elements) {
  std::vector<int64_t> out;
  for (const Element& e : elements) {
    for (int64_t v : e[1].flat<int64_t>()) out.push_back(v);
  }
  return out;
}

std::vector<int64_t> Iota(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// A map function that is not row-wise and so forces the general paths.
MapFn Identity() {
  return [](Element e) -> absl::StatusOr<Element> { return e; };
}

TEST_CASE("FromTensorSlices yields the rows in order") {
  const auto elements = Drain(Numbers(4));
  REQUIRE(elements.size() == 4);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(elements[i].size() == 2);
    CHECK(elements[i][0].shape() == Shape({2}));
    CHECK(elements[i][0].ToVector<int32_t>() == std::vector<int32_t>{i, 100 + i});
    CHECK(elements[i][1].shape() == Shape({}));
    CHECK(elements[i][1].data<int64_t>()[0] == i);
  }
  CHECK(Numbers(4).Cardinality() == 4);
}

TEST_CASE("FromTensorSlices rejects bad components") {
  auto none = Dataset::FromTensorSlices({});
  CHECK(none.status().code() == absl::StatusCode::kInvalidArgument);
  auto scalar = Dataset::FromTensorSlices({Tensor::Scalar<float>(1.0f)});
  CHECK_THAT(std::string(scalar.status().message()), Contains("component 0 is a scalar"));
  auto invalid = Dataset::FromTensorSlices({Tensor()});
  CHECK_THAT(std::string(invalid.status().message()), Contains("component 0 is an empty"));
  auto mismatch = Dataset::FromTensorSlices(
      {Tensor::Zeros(DType::kU8, Shape{5, 3}), Tensor::Zeros(DType::kI64, Shape{4})});
  CHECK(mismatch.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(mismatch.status().message()),
             Contains("u8[5,3]") && Contains("component 1 is i64[4]"));
  CHECK(Dataset().MakeIterator().status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Shuffle is a seeded permutation, new each pass when asked") {
  const bool general = GENERATE(false, true);  // the row-index path and the buffered path
  Dataset base = general ? Numbers(50).Map(Identity()) : Numbers(50);
  const auto a = Labels(Drain(base.Shuffle(7)));
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == Iota(50));
  CHECK(a != Iota(50));
  CHECK(Labels(Drain(base.Shuffle(7))) == a);  // deterministic per seed
  CHECK(Labels(Drain(base.Shuffle(8))) != a);

  // Two passes under Repeat: each a permutation, different with reshuffling,
  // the same without; a new iterator starts over with the same sequence.
  const auto twice = Labels(Drain(base.Shuffle(7).Repeat(2)));
  REQUIRE(twice.size() == 100);
  std::vector<int64_t> first(twice.begin(), twice.begin() + 50);
  std::vector<int64_t> second(twice.begin() + 50, twice.end());
  CHECK(first == a);
  std::vector<int64_t> second_sorted = second;
  std::sort(second_sorted.begin(), second_sorted.end());
  CHECK(second_sorted == Iota(50));
  CHECK(second != first);
  CHECK(Labels(Drain(base.Shuffle(7).Repeat(2))) == twice);
  const auto fixed = Labels(Drain(base.Shuffle(7, /*reshuffle_each_iteration=*/false).Repeat(2)));
  CHECK(std::vector<int64_t>(fixed.begin(), fixed.begin() + 50) ==
        std::vector<int64_t>(fixed.begin() + 50, fixed.end()));
}

TEST_CASE("Shuffle of an infinite dataset is an error") {
  Dataset ds = Numbers(3).Repeat().Shuffle(1);
  CHECK(ds.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(ds.MakeIterator().status().message()),
             Contains("infinite") && Contains("Repeat after Shuffle"));
  CHECK(ds.Cardinality() == kUnknownCardinality);
  // The first error is kept through later transformations.
  CHECK_THAT(std::string(ds.Batch(0).status().message()), Contains("infinite"));
}

TEST_CASE("Batch stacks rows, keeping or dropping the remainder") {
  const bool general = GENERATE(false, true);
  Dataset base = general ? Numbers(10).Map(Identity()) : Numbers(10);
  const auto kept = Drain(base.Batch(3, /*drop_remainder=*/false));
  REQUIRE(kept.size() == 4);
  CHECK(kept[0][0].shape() == Shape({3, 2}));
  CHECK(kept[0][0].ToVector<int32_t>() == std::vector<int32_t>{0, 100, 1, 101, 2, 102});
  CHECK(kept[2][1].ToVector<int64_t>() == std::vector<int64_t>{6, 7, 8});
  CHECK(kept[3][0].shape() == Shape({1, 2}));
  CHECK(kept[3][1].ToVector<int64_t>() == std::vector<int64_t>{9});
  CHECK(base.Batch(3, false).Cardinality() == 4);

  const auto dropped = Drain(base.Batch(3, /*drop_remainder=*/true));
  REQUIRE(dropped.size() == 3);
  CHECK(dropped[2][1].ToVector<int64_t>() == std::vector<int64_t>{6, 7, 8});
  CHECK(base.Batch(3, true).Cardinality() == 3);

  // Shuffled batches gather the permuted rows.
  const auto shuffled = Labels(Drain(base.Shuffle(3).Batch(3)));
  CHECK(shuffled == Labels(Drain(base.Shuffle(3))));
  CHECK(Numbers(10).Batch(0).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Batch reports elements that cannot be stacked") {
  // Element 1 gets a longer first component than element 0.
  MapFn ragged = [](Element e) -> absl::StatusOr<Element> {
    const int64_t n = e[1].data<int64_t>()[0] + 1;
    e[0] = Tensor::Zeros(DType::kF32, Shape{n});
    return e;
  };
  auto it = Numbers(4).Map(ragged).Batch(2).MakeIterator();
  REQUIRE(it.ok());
  auto e = (*it)->Next();
  CHECK(e.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(e.status().message()),
             Contains("element 1") && Contains("f32[2]") && Contains("f32[1]"));
}

TEST_CASE("Repeat and Take") {
  CHECK(Labels(Drain(Numbers(3).Repeat(2))) == std::vector<int64_t>{0, 1, 2, 0, 1, 2});
  CHECK(Numbers(3).Repeat(2).Cardinality() == 6);
  CHECK(Drain(Numbers(3).Repeat(0)).empty());
  CHECK(Numbers(3).Repeat().Cardinality() == kInfiniteCardinality);
  CHECK(Labels(Drain(Numbers(3).Repeat().Take(7))) == std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0});
  CHECK(Numbers(3).Repeat().Take(7).Cardinality() == 7);
  CHECK(Labels(Drain(Numbers(3).Map(Identity()).Repeat().Take(4))) ==
        std::vector<int64_t>{0, 1, 2, 0});
  CHECK(Labels(Drain(Numbers(5).Take(2))) == std::vector<int64_t>{0, 1});
  CHECK(Labels(Drain(Numbers(5).Take(-1))) == Iota(5));
  CHECK(Numbers(5).Take(9).Cardinality() == 5);
  // Repeating forever over nothing ends instead of spinning.
  CHECK(Drain(Numbers(0).Repeat()).empty());
  CHECK(Drain(Numbers(3).Take(0).Map(Identity()).Repeat()).empty());
  // Batches cross pass boundaries, as in tf.data.
  const auto batches = Drain(Numbers(3).Repeat(2).Batch(4));
  REQUIRE(batches.size() == 2);
  CHECK(batches[0][1].ToVector<int64_t>() == std::vector<int64_t>{0, 1, 2, 0});
  CHECK(Numbers(3).Repeat(-2).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Numbers(3).Take(-2).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Unbatched elements are views of the source rows") {
  auto source = *Tensor::FromVector<float>({1, 2, 3, 4}, Shape{2, 2});
  auto ds = *Dataset::FromTensorSlices({source});
  const auto elements = Drain(ds);
  REQUIRE(elements.size() == 2);
  CHECK(elements[1][0].raw_data() == source.data<float>() + 2);
  CHECK(elements[1][0].ToVector<float>() == std::vector<float>{3, 4});
}

TEST_CASE("NormalizeImages scales and offsets any dtype to f32") {
  auto images = *Tensor::FromVector<uint8_t>({0, 51, 255, 102}, Shape{2, 2});
  auto ds = *Dataset::FromTensorSlices({images});
  const auto per_element = Drain(ds.Map(NormalizeImages()));
  REQUIRE(per_element.size() == 2);
  CHECK(per_element[0][0].dtype() == DType::kF32);
  CHECK(per_element[0][0].data<float>()[0] == 0.0f);
  CHECK(per_element[0][0].data<float>()[1] == Approx(0.2f));
  CHECK(per_element[1][0].data<float>()[0] == Approx(1.0f));
  // To [-1, 1], on a whole batch.
  const auto batched = Drain(ds.Batch(2).Map(NormalizeImages(2.0f / 255, -1.0f)));
  REQUIRE(batched.size() == 1);
  CHECK(batched[0][0].shape() == Shape({2, 2}));
  const float want[] = {-1.0f, -0.6f, 1.0f, -0.2f};
  for (int i = 0; i < 4; ++i) CHECK(batched[0][0].data<float>()[i] == Approx(want[i]));
  // Other dtypes convert too.
  auto halves = NormalizeImages(0.5f, 1.0f).Apply({Tensor::FromVector<int32_t>({-4, 6})});
  REQUIRE(halves.ok());
  CHECK((*halves)[0].ToVector<float>() == std::vector<float>{-1.0f, 4.0f});
  auto bad = NormalizeImages(1.0f, 0.0f, 3).Apply({images});
  CHECK_THAT(std::string(bad.status().message()),
             Contains("NormalizeImages") && Contains("component 3") && Contains("1 components"));
}

TEST_CASE("OneHot encodes integer labels of any shape") {
  auto labels = Tensor::FromVector<uint8_t>({2, 0, 1});
  auto one = OneHot(3, 0).Apply({labels});
  REQUIRE(one.ok());
  CHECK((*one)[0].shape() == Shape({3, 3}));
  CHECK((*one)[0].ToVector<float>() == std::vector<float>{0, 0, 1, 1, 0, 0, 0, 1, 0});
  // After Batch on a dataset of (x, y): y of shape [batch] -> [batch, depth].
  const auto batches = Drain(Numbers(4).Batch(2).Map(OneHot(4)));
  REQUIRE(batches.size() == 2);
  CHECK(batches[1][1].shape() == Shape({2, 4}));
  CHECK(batches[1][1].ToVector<float>() == std::vector<float>{0, 0, 1, 0, 0, 0, 0, 1});

  auto out_of_range = OneHot(2, 0).Apply({labels});
  CHECK(out_of_range.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(out_of_range.status().message()),
             Contains("label 2 at position 0") && Contains("[0, 2)"));
  auto negative = OneHot(5, 0).Apply({Tensor::FromVector<int32_t>({1, -1})});
  CHECK_THAT(std::string(negative.status().message()), Contains("label -1 at position 1"));
  auto floats = OneHot(2, 0).Apply({Tensor::FromVector<float>({1})});
  CHECK_THAT(std::string(floats.status().message()), Contains("integer labels, got f32[1]"));
  auto depth = OneHot(0, 0).Apply({labels});
  CHECK_THAT(std::string(depth.status().message()), Contains("depth must be positive, got 0"));
}

TEST_CASE("CastTo converts, truncating and saturating") {
  auto f = Tensor::FromVector<float>({1.7f, -2.5f, 300.0f, -1e10f, NAN});
  auto u8 = CastTo(DType::kU8, 0).Apply({f});
  REQUIRE(u8.ok());
  CHECK((*u8)[0].ToVector<uint8_t>() == std::vector<uint8_t>{1, 0, 255, 0, 0});
  auto i32 = CastTo(DType::kI32, 0).Apply({f});
  REQUIRE(i32.ok());
  CHECK((*i32)[0].ToVector<int32_t>() == std::vector<int32_t>{1, -2, 300, -2147483647 - 1, 0});
  auto big = CastTo(DType::kF64, 0).Apply({Tensor::FromVector<int64_t>({(int64_t{1} << 60) + 1})});
  REQUIRE(big.ok());
  CHECK((*big)[0].ToVector<double>() == std::vector<double>{1152921504606846976.0});
  auto wrap = CastTo(DType::kU8, 0).Apply({Tensor::FromVector<int32_t>({257})});
  CHECK((*wrap)[0].ToVector<uint8_t>() == std::vector<uint8_t>{1});
  auto boolean = CastTo(DType::kBool, 0).Apply({Tensor::FromVector<float>({0.0f, 0.5f})});
  CHECK((*boolean)[0].ToVector<bool>() == std::vector<bool>{false, true});
  CHECK(CastTo(DType::kInvalid, 0).Apply({f}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("FlattenFrom and ReshapeTo act on the element, before or after Batch") {
  auto images = Tensor::Zeros(DType::kU8, Shape{5, 4, 3});
  auto ds = *Dataset::FromTensorSlices({images});
  // Before Batch the axes are the element's; the row-wise map runs on whole
  // batches with the batch dim kept.
  CHECK(Drain(ds.Map(FlattenFrom(0, 0)))[0][0].shape() == Shape({12}));
  CHECK(Drain(ds.Map(FlattenFrom(0, 0)).Batch(2))[0][0].shape() == Shape({2, 12}));
  CHECK(Drain(ds.Batch(2).Map(FlattenFrom(1, 0)))[2][0].shape() == Shape({1, 12}));
  CHECK(Drain(ds.Map(FlattenFrom(-1, 0)))[0][0].shape() == Shape({4, 3}));
  CHECK(Drain(ds.Map(FlattenFrom(2, 0)))[0][0].shape() == Shape({4, 3, 1}));
  CHECK(Drain(ds.Map(ReshapeTo(Shape{3, 4, 1}, 0)).Batch(5))[0][0].shape() == Shape({5, 3, 4, 1}));
  CHECK(Drain(ds.Map(ReshapeTo(Shape{-1, 2}, 0)))[0][0].shape() == Shape({6, 2}));

  auto e = Drain(ds.Take(1))[0];
  CHECK_THAT(std::string(FlattenFrom(3, 0).Apply(e).status().message()),
             Contains("axis 3 is out of range") && Contains("rank 2"));
  CHECK_THAT(std::string(ReshapeTo(Shape{5}, 0).Apply(e).status().message()),
             Contains("cannot reshape component 0 (u8[4,3]) to [5]"));
  CHECK_THAT(std::string(ReshapeTo(Shape{-1, 5}, 0).Apply(e).status().message()),
             Contains("cannot reshape"));
  CHECK_THAT(std::string(ReshapeTo(Shape{-1, -1}, 0).Apply(e).status().message()),
             Contains("one -1"));
}

TEST_CASE("Row-wise maps before Batch give the same batches as after it") {
  auto x = *Tensor::FromVector<uint8_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Shape{5, 2});
  auto y = Tensor::FromVector<int32_t>({0, 1, 2, 1, 0});
  auto ds = *Dataset::FromTensorSlices({x, y});
  const auto before = Drain(ds.Shuffle(4).Map(NormalizeImages()).Map(OneHot(3)).Batch(2, false));
  const auto after = Drain(ds.Shuffle(4).Batch(2, false).Map(NormalizeImages()).Map(OneHot(3)));
  REQUIRE(before.size() == 3);
  REQUIRE(after.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(before[i][0].BitwiseEquals(after[i][0]));
    CHECK(before[i][1].BitwiseEquals(after[i][1]));
  }
  CHECK(before[2][1].shape() == Shape({1, 3}));
}

TEST_CASE("Prefetch delivers the same sequence and forwards errors") {
  Dataset ds = Numbers(23).Shuffle(5).Repeat(3).Batch(4).Map(OneHot(23));
  const auto plain = Drain(ds);
  const auto prefetched = Drain(ds.Prefetch(2));
  REQUIRE(plain.size() == prefetched.size());
  REQUIRE(plain.size() == 18);
  for (size_t i = 0; i < plain.size(); ++i) {
    CHECK(plain[i][0].BitwiseEquals(prefetched[i][0]));
    CHECK(plain[i][1].BitwiseEquals(prefetched[i][1]));
  }

  MapFn fail_at_5 = [](Element e) -> absl::StatusOr<Element> {
    if (e[1].data<int64_t>()[0] == 5) return absl::OutOfRangeError("no fives here");
    return e;
  };
  auto it = Numbers(10).Map(fail_at_5).Prefetch(3).MakeIterator();
  REQUIRE(it.ok());
  for (int i = 0; i < 5; ++i) {
    auto e = (*it)->Next();
    REQUIRE(e.ok());
    REQUIRE(e->has_value());
    CHECK((**e)[1].data<int64_t>()[0] == i);
  }
  auto e = (*it)->Next();
  CHECK(e.status().code() == absl::StatusCode::kOutOfRange);
  CHECK_THAT(std::string(e.status().message()), Contains("no fives here"));
  CHECK((*it)->Next().status().code() == absl::StatusCode::kOutOfRange);  // stays failed

  auto done = Numbers(1).Prefetch(1).MakeIterator();
  REQUIRE((*done)->Next().ok());
  CHECK(!(*done)->Next()->has_value());
  CHECK(!(*done)->Next()->has_value());  // the end stays the end
  CHECK(Numbers(1).Prefetch(0).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Destroying a prefetching iterator mid-stream stops its thread") {
  std::atomic<int> produced{0};
  MapFn count = [&produced](Element e) -> absl::StatusOr<Element> {
    ++produced;
    return e;
  };
  const auto start = std::chrono::steady_clock::now();
  {
    auto it = Numbers(8).Repeat().Map(count).Prefetch(4).MakeIterator();
    REQUIRE(it.ok());
    REQUIRE((*it)->Next().ok());
    REQUIRE((*it)->Next().ok());
  }  // the destructor must not wait for an infinite input to end
  const int after_destroy = produced.load();
  CHECK(after_destroy <= 2 + 4 + 1);  // consumed + buffered + one in flight
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  {
    // Destroyed before anything is consumed.
    auto it = Numbers(8).Repeat().Prefetch(1).MakeIterator();
    REQUIRE(it.ok());
  }
}

TEST_CASE("An epoch of a Fashion-MNIST-sized dataset yields every example once") {
  // Its speed is measured by bench/sluice_bench (BM_DatasetEpoch).
  // 60000 u8 images of 28x28 and u8 labels, shuffled, batched by 128,
  // normalised and one-hot encoded.
  auto images = Tensor::Zeros(DType::kU8, Shape{60000, 28, 28});
  auto labels = Tensor::Zeros(DType::kU8, Shape{60000});
  for (int64_t i = 0; i < 60000; ++i) labels.data<uint8_t>()[i] = static_cast<uint8_t>(i % 10);
  auto ds = Dataset::FromTensorSlices({images, labels})
                ->Shuffle(1)
                .Batch(128)
                .Map(NormalizeImages())
                .Map(OneHot(10))
                .Map(FlattenFrom(1, 0));
  auto it = ds.MakeIterator();
  REQUIRE(it.ok());
  int64_t batches = 0, examples = 0;
  double label_sum = 0;
  while (true) {
    auto e = (*it)->Next();
    REQUIRE(e.ok());
    if (!e->has_value()) break;
    ++batches;
    examples += (**e)[0].shape().dim(0);
    CHECK((**e)[0].shape().dim(1) == 784);
    for (float v : (**e)[1].flat<float>()) label_sum += v;
  }
  CHECK(batches == 469);
  CHECK(examples == 60000);
  CHECK(label_sum == 60000);
}

}  // namespace
}  // namespace sluice
