// Session semantics (TF1 rules), plan reuse, callables and concurrency.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>

#include <atomic>
#include <thread>

#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "runtime/session.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

std::unique_ptr<Session> MakeSession(const Scope& root, SessionOptions options = {}) {
  REQUIRE(root.ok());
  auto session = Session::Create(*root.graph(), options);
  REQUIRE(session.ok());
  return std::move(*session);
}

TEST_CASE("Run computes fetches from feeds") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root.WithOpName("a"), DType::kF32, Shape{kUnknownDim});
  Output b = Const(root.WithOpName("b"), {10.0f, 20.0f, 30.0f});
  Output sum = Add(root.WithOpName("sum"), a, b);
  Mul(root.WithOpName("product"), a, b);
  auto session = MakeSession(root);

  auto out = session->Run({{"a", Tensor::FromVector<float>({1, 2, 3})}}, {"sum", "product"});
  REQUIRE(out.ok());
  REQUIRE(out->size() == 2);
  CHECK((*out)[0].ToVector<float>() == std::vector<float>{11, 22, 33});
  CHECK((*out)[1].ToVector<float>() == std::vector<float>{10, 40, 90});

  // The Output/Node overload.
  auto again = session->Run({{a, Tensor::FromVector<float>({0, 0, 1})}}, {sum});
  REQUIRE(again.ok());
  CHECK((*again)[0].ToVector<float>() == std::vector<float>{10, 20, 31});
}

TEST_CASE("Only what the fetches need runs") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{});
  Output unused = Placeholder(root.WithOpName("unused"), DType::kF32, Shape{});
  Add(root.WithOpName("y"), x, Const(root, 1.0f));
  Add(root.WithOpName("z"), unused, Const(root, 1.0f));
  auto session = MakeSession(root);
  // "unused" is not fed, but nothing fetched needs it.
  auto out = session->Run({{"x", Tensor::Scalar(2.0f)}}, {"y"});
  REQUIRE(out.ok());
  CHECK((*out)[0].data<float>()[0] == 3.0f);
}

TEST_CASE("Feeding an intermediate output cuts off what computes it") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{});
  Output h = Mul(root.WithOpName("h"), x, Const(root, 3.0f));
  Add(root.WithOpName("y"), h, Const(root, 1.0f));
  auto session = MakeSession(root);
  auto out = session->Run({{"h", Tensor::Scalar(5.0f)}}, {"y", "h"});
  REQUIRE(out.ok());
  CHECK((*out)[0].data<float>()[0] == 6.0f);
  CHECK((*out)[1].data<float>()[0] == 5.0f);
}

TEST_CASE("Unfed placeholders and bad feeds are InvalidArgument naming them") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 3});
  Relu(root.WithOpName("y"), x);
  auto session = MakeSession(root);

  auto unfed = session->Run({}, {"y"});
  REQUIRE_FALSE(unfed.ok());
  CHECK(unfed.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(unfed.status().message()),
             Contains("placeholder 'x' (f32[?,3]) must be fed"));

  auto wrong_dtype = session->Run({{"x", Tensor::Zeros(DType::kF64, Shape{2, 3})}}, {"y"});
  REQUIRE_FALSE(wrong_dtype.ok());
  CHECK(wrong_dtype.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(wrong_dtype.status().message()),
             Contains("feed 'x': fed a f64 tensor, but x (Placeholder) is f32"));

  auto wrong_shape = session->Run({{"x", Tensor::Zeros(DType::kF32, Shape{2, 4})}}, {"y"});
  REQUIRE_FALSE(wrong_shape.ok());
  CHECK_THAT(std::string(wrong_shape.status().message()),
             Contains("feed 'x': fed shape [2,4], but x (Placeholder) has shape [?,3]"));

  auto unknown_fetch = session->Run({}, {"nope"});
  REQUIRE_FALSE(unknown_fetch.ok());
  CHECK(unknown_fetch.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(unknown_fetch.status().message()),
             Contains("fetch 'nope': no node named 'nope' in the graph"));

  auto bad_index = session->Run({{"x", Tensor::Zeros(DType::kF32, Shape{1, 3})}}, {"y:1"});
  REQUIRE_FALSE(bad_index.ok());
  CHECK_THAT(std::string(bad_index.status().message()),
             Contains("fetch 'y:1': y (Relu) has 1 output"));

  auto unknown_feed = session->Run({{"q", Tensor::Scalar(1.0f)}}, {"y"});
  REQUIRE_FALSE(unknown_feed.ok());
  CHECK_THAT(std::string(unknown_feed.status().message()),
             Contains("feed 'q': no node named 'q' in the graph"));

  auto unknown_target = session->Run({}, {}, {"ghost"});
  REQUIRE_FALSE(unknown_target.ok());
  CHECK_THAT(std::string(unknown_target.status().message()),
             Contains("target 'ghost': no node named 'ghost' in the graph"));

  auto empty = session->Run({{"x", Tensor()}}, {"y"});
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(std::string(empty.status().message()), Contains("feed 'x' is an empty tensor"));
}

TEST_CASE("PlaceholderWithDefault yields its default unless fed") {
  Scope root = Scope::NewRootScope();
  Output p = PlaceholderWithDefault(root.WithOpName("p"), Const(root, 4.0f), Shape{});
  Mul(root.WithOpName("y"), p, Const(root, 2.0f));
  auto session = MakeSession(root);
  CHECK((*session->Run({}, {"y"}))[0].data<float>()[0] == 8.0f);
  CHECK((*session->Run({{"p", Tensor::Scalar(1.0f)}}, {"y"}))[0].data<float>()[0] == 2.0f);
}

// Names of the steps one traced run executed.
std::vector<std::string> StepsRun(Session& session, const FeedList& feeds,
                                  const std::vector<std::string>& fetches) {
  RunOptions options;
  options.trace = true;
  RunMetadata metadata;
  REQUIRE(session.Run(feeds, fetches, {}, &options, &metadata).ok());
  std::vector<std::string> names;
  for (const StepStats& s : metadata.steps) names.push_back(s.node);
  return names;
}

bool Ran(const std::vector<std::string>& steps, const std::string& node) {
  return std::find(steps.begin(), steps.end(), node) != steps.end();
}

TEST_CASE("A fed scalar bool selects one branch and the other is not computed") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{3});
  Output flag = PlaceholderWithDefault(root.WithOpName("training"), Const(root, false), Shape{});
  Output when_true = Mul(root.WithOpName("when_true"), x, Const(root, 2.0f));
  Output when_false = Exp(root.WithOpName("when_false"), x);
  Select(root.WithOpName("y"), flag, when_true, when_false);
  auto session = MakeSession(root);
  const Tensor xv = Tensor::FromVector<float>({0.0f, 1.0f, -2.0f});

  // Alternating values must never reuse the other value's plan.
  for (bool value : {true, false, true, false}) {
    INFO("training=" << value);
    const FeedList feeds = {{"x", xv}, {"training", Tensor::Scalar(value)}};
    auto r = session->Run(feeds, {"y", "training"});
    REQUIRE(r.ok());
    const float* y = (*r)[0].data<float>();
    for (int i = 0; i < 3; ++i) {
      const float xi = xv.data<float>()[i];
      CHECK(y[i] == Approx(value ? 2.0f * xi : std::exp(xi)));
    }
    CHECK((*r)[1].data<bool>()[0] == value);  // fetching the flag gives what was fed
    const std::vector<std::string> steps = StepsRun(*session, feeds, {"y"});
    CHECK(Ran(steps, "when_true") == value);
    CHECK(Ran(steps, "when_false") == !value);
  }
  // Unfed, the default (false) applies, folded like a constant.
  auto unfed = session->Run({{"x", xv}}, {"y"});
  REQUIRE(unfed.ok());
  CHECK((*unfed)[0].data<float>()[1] == Approx(std::exp(1.0f)));
  const std::vector<std::string> steps = StepsRun(*session, {{"x", xv}}, {"y"});
  CHECK_FALSE(Ran(steps, "when_true"));

  // A callable takes the same care.
  auto handle = session->MakeCallable({"x", "training"}, {"y"});
  REQUIRE(handle.ok());
  for (bool value : {false, true, true, false}) {
    auto r = session->RunCallable(*handle, {xv, Tensor::Scalar(value)});
    REQUIRE(r.ok());
    CHECK((*r)[0].data<float>()[1] == Approx(value ? 2.0f : std::exp(1.0f)));
  }
}

TEST_CASE("A bool feed of more than one element is not specialised") {
  Scope root = Scope::NewRootScope();
  Output cond = Placeholder(root.WithOpName("cond"), DType::kBool, Shape{2});
  Select(root.WithOpName("y"), cond, Const(root, {1.0f, 2.0f}), Const(root, {3.0f, 4.0f}));
  auto session = MakeSession(root);
  for (bool first : {true, false}) {
    Tensor c(DType::kBool, Shape{2});
    c.data<bool>()[0] = first;
    c.data<bool>()[1] = !first;
    auto r = session->Run({{"cond", c}}, {"y"});
    REQUIRE(r.ok());
    CHECK((*r)[0].data<float>()[0] == (first ? 1.0f : 3.0f));
    CHECK((*r)[0].data<float>()[1] == (first ? 4.0f : 2.0f));
  }
}

TEST_CASE("Variables persist across runs and must be initialised") {
  Scope root = Scope::NewRootScope();
  Output w = Variable(root.WithOpName("w"), Shape{2}, DType::kF32, Const(root, {1.0f, 2.0f}));
  Output step = AssignAdd(root.WithOpName("step"), w, Const(root, {1.0f, 1.0f}));
  Node* init = InitAllVariables(root);
  Mul(root.WithOpName("doubled"), w, Const(root, 2.0f));
  auto session = MakeSession(root);

  auto before = session->Run({}, {"doubled"});
  REQUIRE_FALSE(before.ok());
  CHECK(before.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(before.status().message()), Contains("variable 'w'"));

  REQUIRE(session->Run({}, {}, {init->name()}).ok());
  CHECK((*session->Run({}, {"doubled"}))[0].ToVector<float>() == std::vector<float>{2, 4});
  REQUIRE(session->Run({}, {}, {"step"}).ok());
  REQUIRE(session->Run({}, {}, {"step"}).ok());
  CHECK((*session->Run({}, {"w"}))[0].ToVector<float>() == std::vector<float>{3, 4});
  // The updated value is what AssignAdd yields, too.
  CHECK((*session->Run({}, {step}))[0].ToVector<float>() == std::vector<float>{4, 5});
  (void)w;
}

TEST_CASE("Plans are compiled once per signature and reused") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 2});
  Relu(root.WithOpName("y"), x);
  auto session = MakeSession(root);
  RunMetadata first, second, other_batch;
  REQUIRE(session->Run({{"x", Tensor::Zeros(DType::kF32, Shape{4, 2})}}, {"y"}, {}, nullptr,
                       &first)
              .ok());
  REQUIRE(session->Run({{"x", Tensor::Zeros(DType::kF32, Shape{4, 2})}}, {"y"}, {}, nullptr,
                       &second)
              .ok());
  REQUIRE(session->Run({{"x", Tensor::Zeros(DType::kF32, Shape{8, 2})}}, {"y"}, {}, nullptr,
                       &other_batch)
              .ok());
  CHECK(first.plan_compiled);
  CHECK_FALSE(second.plan_compiled);
  CHECK(other_batch.plan_compiled);

  RunOptions trace{.trace = true};
  RunMetadata traced;
  REQUIRE(session->Run({{"x", Tensor::Zeros(DType::kF32, Shape{4, 2})}}, {"y"}, {}, &trace,
                       &traced)
              .ok());
  REQUIRE(traced.steps.size() == 1);
  CHECK(traced.steps[0].node == "y");
  CHECK(traced.steps[0].op == "Relu");
}

TEST_CASE("Callables run a fixed signature") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root.WithOpName("a"), DType::kF32, Shape{});
  Output b = Placeholder(root.WithOpName("b"), DType::kF32, Shape{});
  Add(root.WithOpName("sum"), a, b);
  auto session = MakeSession(root);
  auto handle = session->MakeCallable({"a", "b"}, {"sum"});
  REQUIRE(handle.ok());
  RunMetadata m1, m2;
  auto r1 = session->RunCallable(*handle, {Tensor::Scalar(1.0f), Tensor::Scalar(2.0f)}, &m1);
  auto r2 = session->RunCallable(*handle, {Tensor::Scalar(5.0f), Tensor::Scalar(2.0f)}, &m2);
  REQUIRE(r1.ok());
  REQUIRE(r2.ok());
  CHECK((*r1)[0].data<float>()[0] == 3.0f);
  CHECK((*r2)[0].data<float>()[0] == 7.0f);
  CHECK(m1.plan_compiled);
  CHECK_FALSE(m2.plan_compiled);

  auto wrong_count = session->RunCallable(*handle, {Tensor::Scalar(1.0f)});
  REQUIRE_FALSE(wrong_count.ok());
  CHECK_THAT(std::string(wrong_count.status().message()), Contains("takes 2 feeds, got 1"));
  REQUIRE(session->ReleaseCallable(*handle).ok());
  auto released = session->RunCallable(*handle, {Tensor::Scalar(1.0f), Tensor::Scalar(2.0f)});
  REQUIRE_FALSE(released.ok());
  CHECK_THAT(std::string(released.status().message()), Contains("no callable with handle"));
  auto bad = session->MakeCallable({"zzz"}, {"sum"});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()), Contains("feed 'zzz': no node named 'zzz'"));
}

TEST_CASE("The plan cache is bounded") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim});
  Neg(root.WithOpName("y"), x);
  SessionOptions options;
  options.plan_cache_capacity = 2;
  auto session = MakeSession(root, options);
  for (int64_t n : {1, 2, 3, 1}) {
    RunMetadata m;
    auto out = session->Run({{"x", Tensor::Zeros(DType::kF32, Shape{n})}}, {"y"}, {}, nullptr, &m);
    REQUIRE(out.ok());
    // Capacity 2: the batch of 1 was evicted by the batch of 3.
    CHECK(m.plan_compiled);
  }
}

TEST_CASE("Concurrent runs on one session each get their own results") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 4});
  Output w = Const(root, {{1, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 3, 0}, {0, 0, 0, 4}});
  Relu(root.WithOpName("y"), MatMul(root, x, w));
  auto session = MakeSession(root);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const int64_t batch = 1 + (t + i) % 3;
        std::vector<float> in(batch * 4);
        for (size_t k = 0; k < in.size(); ++k) in[k] = static_cast<float>(t * 1000 + i + k);
        auto out = session->Run({{"x", *Tensor::FromVector(in, Shape{batch, 4})}}, {"y"});
        if (!out.ok()) {
          ++failures;
          continue;
        }
        const float* y = (*out)[0].data<float>();
        for (int64_t r = 0; r < batch; ++r) {
          for (int c = 0; c < 4; ++c) {
            if (y[r * 4 + c] != in[r * 4 + c] * static_cast<float>(c + 1)) ++failures;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("Session creation rejects bad options and broken graphs") {
  Scope root = Scope::NewRootScope();
  Placeholder(root, DType::kF32);
  SessionOptions bad;
  bad.intra_op_threads = -1;
  auto s = Session::Create(*root.graph(), bad);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(std::string(s.status().message()), Contains("intra_op_threads must be >= 0"));

  Scope broken = Scope::NewRootScope();
  MatMul(broken, Const(broken, {{1.0f, 2.0f}}), Const(broken, {{1.0f, 2.0f}}));
  auto t = Session::Create(*broken.graph());
  REQUIRE_FALSE(t.ok());
  CHECK_THAT(std::string(t.status().message()), Contains("inner dimensions differ"));
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// Wide graphs whose branches are independent, run with inter-op
// parallelism from several threads: every result must still be exact.
TEST_CASE("Inter-op parallelism runs independent branches correctly") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 8});
  std::vector<Output> branches;
  for (int b = 0; b < 6; ++b) {
    Output y = x;
    for (int k = 0; k < 5; ++k) y = Add(root, Mul(root, y, Const(root, 2.0f)), Const(root, 1.0f));
    branches.push_back(y);
  }
  AddN(root.WithOpName("sum"), branches);
  REQUIRE(root.ok());
  SessionOptions options;
  options.inter_op_parallelism = true;
  auto session = *Session::Create(*root.graph(), options);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const float v = static_cast<float>(t + i);
        auto out = session->Run({{"x", *Tensor::FromVector(std::vector<float>(16, v), Shape{2, 8})}},
                                {"sum"});
        // Five times y = 2y + 1 gives 32v + 31; six branches add up.
        const float want = 6 * (32 * v + 31);
        if (!out.ok() || (*out)[0].data<float>()[15] != want) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);

  // A failing step still ends the run with its error.
  Scope bad = Scope::NewRootScope();
  Output i = Placeholder(bad.WithOpName("i"), DType::kI32, Shape{2});
  Div(bad.WithOpName("q"), Neg(bad, i), i);
  Neg(bad.WithOpName("other"), i);
  auto s2 = *Session::Create(*bad.graph(), options);
  auto r = s2->Run({{"i", Tensor::FromVector<int32_t>({1, 0})}}, {"q", "other"});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(std::string(r.status().message()), Contains("q (Div): Integer division by zero"));
}

}  // namespace
}  // namespace sluice
