// Load on one Session from many threads: mixed signatures (batch sizes,
// fetch sets, callables, targets) run concurrently, and every result is
// checked against values computed here. Run under ThreadSanitizer too
// (scripts/test.sh --sanitize=thread).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "runtime/session.h"

namespace sluice {
namespace {

constexpr int kThreads = 8;
constexpr int kRunsPerThread = 10000;
constexpr int kCols = 4;
constexpr int64_t kBatchSizes[] = {1, 3, 8, 17};
// The counters are vectors, every element counting the same thing: a wider
// update makes lost increments (without use_locking) likely enough to see.
constexpr int64_t kCounterSize = 8192;

// x: [batch, 4], fed.           y = x * 2 + 1
// rowsum = sum of y per row.    colmax = max of y per column
// bump: counter += 1            add_rows: rows += n (n fed), elementwise
// Both updates take the variable's lock (use_locking), so no increment is
// lost however the runs interleave. `init_name` receives the initializer.
Scope BuildGraph(std::string* init_name) {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, kCols});
  Output y = Add(root.WithOpName("y"), Mul(root, x, Const(root, 2.0f)), Const(root, 1.0f));
  Sum(root.WithOpName("rowsum"), y, {1});
  Max(root.WithOpName("colmax"), y, {0});
  const Shape counter_shape{kCounterSize};
  Output zeros = Const(root, std::vector<float>(kCounterSize, 0.0f), counter_shape);
  Output ones = Const(root, std::vector<float>(kCounterSize, 1.0f), counter_shape);
  Output counter = Variable(root.WithOpName("counter"), counter_shape, DType::kF32, zeros);
  AddOp(root.WithOpName("bump"), "AssignAdd", {counter, ones}, {{"use_locking", true}});
  Output rows = Variable(root.WithOpName("rows"), counter_shape, DType::kF32, zeros);
  Output n = Placeholder(root.WithOpName("n"), DType::kF32, Shape{});
  AddOp(root.WithOpName("add_rows"), "AssignAdd", {rows, Mul(root, ones, n)},
        {{"use_locking", true}});
  Node* init = InitAllVariables(root);
  if (init != nullptr) *init_name = init->name();
  return root;
}

// Small integers, so every sum and product below is exact in float.
std::vector<float> InputValues(int thread, int run, int64_t batch) {
  std::vector<float> x(batch * kCols);
  for (int64_t i = 0; i < batch * kCols; ++i) {
    x[i] = static_cast<float>((thread * 7 + run + i * 5) % 97 - 48);
  }
  return x;
}

std::vector<float> Doubled(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * 2 + 1;
  return y;
}

std::vector<float> RowSums(const std::vector<float>& y) {
  std::vector<float> sums(y.size() / kCols, 0.0f);
  for (size_t i = 0; i < y.size(); ++i) sums[i / kCols] += y[i];
  return sums;
}

std::vector<float> ColMaxes(const std::vector<float>& y) {
  std::vector<float> maxes(y.begin(), y.begin() + kCols);
  for (size_t i = kCols; i < y.size(); ++i) maxes[i % kCols] = std::max(maxes[i % kCols], y[i]);
  return maxes;
}

// Failures seen by the worker threads (Catch2's assertions are not
// thread-safe), with the first message kept for the report.
class Failures {
 public:
  void Add(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (count_++ == 0) first_ = what;
  }
  int count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  std::string first() const {
    std::lock_guard<std::mutex> lock(mu_);
    return first_;
  }

 private:
  mutable std::mutex mu_;
  int count_ = 0;
  std::string first_;
};

bool Equals(const Tensor& got, const std::vector<float>& want) {
  return got.dtype() == DType::kF32 && got.num_elements() == static_cast<int64_t>(want.size()) &&
         got.ToVector<float>() == want;
}

void RunStress(const SessionOptions& options) {
  std::string init;
  Scope root = BuildGraph(&init);
  REQUIRE(root.ok());
  auto created = Session::Create(*root.graph(), options);
  REQUIRE(created.ok());
  Session& session = **created;
  REQUIRE(session.Run(FeedList{}, {}, {init}).ok());
  // Callables shared by every thread.
  auto rows_callable = session.MakeCallable({"x", "n"}, {"rowsum"}, {"add_rows"});
  auto colmax_callable = session.MakeCallable({"x"}, {"colmax"});
  REQUIRE(rows_callable.ok());
  REQUIRE(colmax_callable.ok());

  Failures failures;
  std::atomic<int64_t> bumps{0}, rows_added{0}, runs{0};
  auto worker = [&](int t) {
    // One callable of this thread's own, made while the others run.
    auto own = session.MakeCallable({"x"}, {"y", "rowsum"});
    if (!own.ok()) {
      failures.Add(std::string(own.status().message()));
      return;
    }
    int64_t my_bumps = 0, my_rows = 0, my_runs = 0;
    for (int i = 0; i < kRunsPerThread; ++i) {
      const int64_t batch = kBatchSizes[(i / 6 + t) % 4];
      const std::vector<float> xs = InputValues(t, i, batch);
      const std::vector<float> y = Doubled(xs);
      Tensor x = *Tensor::FromVector(xs, Shape{batch, kCols});
      const int kind = (i + t) % 6;
      absl::StatusOr<std::vector<Tensor>> out;
      bool ok = false;
      switch (kind) {
        case 0:
          out = session.Run({{"x", x}}, {"y"});
          ok = out.ok() && out->size() == 1 && Equals((*out)[0], y);
          break;
        case 1:
          out = session.Run({{"x", x}}, {"rowsum", "y"});
          ok = out.ok() && out->size() == 2 && Equals((*out)[0], RowSums(y)) &&
               Equals((*out)[1], y);
          break;
        case 2:
          out = session.Run({{"x", x}}, {"rowsum"}, {"bump"});
          ok = out.ok() && out->size() == 1 && Equals((*out)[0], RowSums(y));
          if (out.ok()) ++my_bumps;
          break;
        case 3:
          out = session.RunCallable(*rows_callable,
                                    {x, Tensor::Scalar(static_cast<float>(batch))});
          ok = out.ok() && out->size() == 1 && Equals((*out)[0], RowSums(y));
          if (out.ok()) my_rows += batch;
          break;
        case 4:
          out = session.RunCallable(*colmax_callable, {x});
          ok = out.ok() && out->size() == 1 && Equals((*out)[0], ColMaxes(y));
          break;
        default:
          out = session.RunCallable(*own, {x});
          ok = out.ok() && out->size() == 2 && Equals((*out)[0], y) &&
               Equals((*out)[1], RowSums(y));
          break;
      }
      ++my_runs;
      if (!ok) {
        failures.Add("thread " + std::to_string(t) + ", run " + std::to_string(i) + " (kind " +
                     std::to_string(kind) + ", batch " + std::to_string(batch) + "): " +
                     (out.ok() ? std::string("wrong values") : std::string(out.status().message())));
      }
    }
    if (!session.ReleaseCallable(*own).ok()) failures.Add("ReleaseCallable failed");
    bumps += my_bumps;
    rows_added += my_rows;
    runs += my_runs;
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (std::thread& th : threads) th.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("first failure: " << failures.first());
  CHECK(failures.count() == 0);
  CHECK(runs.load() == int64_t{kThreads} * kRunsPerThread);
  WARN(runs.load() << " runs from " << kThreads << " threads in " << seconds << " s");

  // Every locked increment landed exactly once.
  auto counters = session.Run(FeedList{}, {"counter", "rows"});
  REQUIRE(counters.ok());
  CHECK((*counters)[0].ToVector<float>() ==
        std::vector<float>(kCounterSize, static_cast<float>(bumps.load())));
  CHECK((*counters)[1].ToVector<float>() ==
        std::vector<float>(kCounterSize, static_cast<float>(rows_added.load())));
  CHECK(bumps.load() > 0);
  CHECK(rows_added.load() > 0);
}

TEST_CASE("One session under load from 8 threads, default options") {
  RunStress(SessionOptions{});
}

TEST_CASE("One session under load from 8 threads, inter-op parallelism") {
  SessionOptions options;
  options.inter_op_parallelism = true;
  RunStress(options);
}

}  // namespace
}  // namespace sluice
