// CPU kernels of the optimizer apply ops, run through a Session for a few
// steps on small variables and checked against values worked out by hand.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "graph/ops/state.h"
#include "graph/ops/training.h"
#include "runtime/session.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;
using testing::CompareTensors;

template <typename T>
Tensor Values(const std::vector<double>& values) {
  return *Tensor::FromVector(std::vector<T>(values.begin(), values.end()),
                             Shape{static_cast<int64_t>(values.size())});
}

template <typename T>
Output Scalar(const Scope& scope, double value) {
  return Const(scope, Tensor::Scalar(static_cast<T>(value)));
}

template <typename T>
Output VariableOf(const Scope& scope, absl::string_view name, const std::vector<double>& init) {
  const Tensor value = Values<T>(init);
  return Variable(scope.WithOpName(name), value.shape(), value.dtype(), Const(scope, value));
}

template <typename T>
constexpr double kTolerance = std::is_same_v<T, float> ? 1e-6 : 1e-13;

std::unique_ptr<Session> MakeSession(const Scope& root) {
  INFO(root.status().message());
  REQUIRE(root.ok());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  return std::move(*session);
}

// Fetches `name` and compares it with `expected`. The fetched value shares
// the variable's buffer, so it is compared before the next step changes it.
template <typename T>
void CheckValue(Session& session, const std::string& name, const std::vector<double>& expected) {
  INFO(name);
  auto out = session.Run(FeedList{}, {name});
  INFO(out.status().message());
  REQUIRE(out.ok());
  const std::string mismatch =
      CompareTensors((*out)[0], Values<T>(expected), kTolerance<T>, kTolerance<T>);
  INFO(mismatch);
  CHECK(mismatch.empty());
}

void RunStep(Session& session, const std::string& target, const FeedList& feeds = {}) {
  auto out = session.Run(feeds, {}, {target});
  INFO(out.status().message());
  REQUIRE(out.ok());
}

// A session over `root` (plus an "init" node) that has run every
// variable's initializer.
std::unique_ptr<Session> MakeInitialisedSession(const Scope& root) {
  Node* init = InitAllVariables(root);
  REQUIRE(init != nullptr);
  auto session = MakeSession(root);
  REQUIRE(session->Run(FeedList{}, {}, {init->name()}).ok());
  return session;
}

TEMPLATE_TEST_CASE("ApplyGradientDescent: var -= alpha * delta", "", float, double) {
  using T = TestType;
  Scope root = Scope::NewRootScope();
  Output w = VariableOf<T>(root, "w", {1, 2});
  ApplyGradientDescent(root.WithOpName("step"), w, Scalar<T>(root, 0.5),
                       Const(root, Values<T>({2, -4})));
  Node* init = InitAllVariables(root);
  auto session = MakeSession(root);
  REQUIRE(session->Run(FeedList{}, {}, {init->name()}).ok());
  // Each step subtracts 0.5 * [2, -4] = [1, -2].
  RunStep(*session, "step");
  CheckValue<T>(*session, "w", {0, 4});
  RunStep(*session, "step");
  CheckValue<T>(*session, "w", {-1, 6});
  // The op yields the updated value.
  CheckValue<T>(*session, "step", {-2, 8});
  CheckValue<T>(*session, "w", {-2, 8});
}

TEMPLATE_TEST_CASE("ApplyMomentum, plain and Nesterov", "", float, double) {
  using T = TestType;
  const bool nesterov = GENERATE(false, true);
  INFO("nesterov " << nesterov);
  Scope root = Scope::NewRootScope();
  Output w = VariableOf<T>(root, "w", {1, 2});
  Output accum = VariableOf<T>(root, "accum", {0, 0});
  ApplyMomentum(root.WithOpName("step"), w, accum, Scalar<T>(root, 0.5),
                Const(root, Values<T>({2, -4})), Scalar<T>(root, 0.5), {.use_nesterov = nesterov});
  auto session = MakeInitialisedSession(root);
  // lr = momentum = 0.5, grad g = [2, -4] every step:
  //   accum: [2,-4], then 0.5*[2,-4]+g = [3,-6], then 0.5*[3,-6]+g = [3.5,-7].
  //   plain:    var -= 0.5 * accum: [1,-2], [1.5,-3], [1.75,-3.5]
  //             var = [0,4], [-1.5,7], [-3.25,10.5]
  //   Nesterov: var -= 0.5*g + 0.25*accum: [1.5,-3], [1.75,-3.5], [1.875,-3.75]
  //             var = [-0.5,5], [-2.25,8.5], [-4.125,12.25]
  const std::vector<std::vector<double>> plain = {{0, 4}, {-1.5, 7}, {-3.25, 10.5}};
  const std::vector<std::vector<double>> nest = {{-0.5, 5}, {-2.25, 8.5}, {-4.125, 12.25}};
  const std::vector<std::vector<double>> accums = {{2, -4}, {3, -6}, {3.5, -7}};
  for (int t = 0; t < 3; ++t) {
    INFO("step " << t + 1);
    RunStep(*session, "step");
    CheckValue<T>(*session, "w", nesterov ? nest[t] : plain[t]);
    CheckValue<T>(*session, "accum", accums[t]);
  }
}

// Adam with beta1 = 0.5, beta2 = 0.75, lr = 0.1, epsilon = 0.5, var = [1, 2, 3]
// and gradients [4, 0, -4] then [1, 0, -1] (element 2 mirrors element 0;
// element 1 sees no gradient, so its update is 0 / (0 + epsilon) = 0).
// Element 0:
//   step 1: beta1_power = 0.5, beta2_power = 0.75
//     lr_t = 0.1 * sqrt(0.25) / 0.5 = 0.1
//     m = 0.5*0 + 0.5*4 = 2;  v = 0.75*0 + 0.25*16 = 4;  sqrt(v) + eps = 2.5
//     plain:    var = 1 - 0.1 * 2 / 2.5 = 0.92
//     Nesterov: numerator 2*0.5 + 0.5*4 = 3;  var = 1 - 0.1 * 3 / 2.5 = 0.88
//   step 2: beta1_power = 0.25, beta2_power = 0.5625
//     lr_t = 0.1 * sqrt(0.4375) / 0.75 = 0.08819171036881969
//     m = 0.5*2 + 0.5*1 = 1.5;  v = 0.75*4 + 0.25*1 = 3.25
//     sqrt(v) + eps = 1.8027756377319946 + 0.5 = 2.3027756377319946
//     plain:    update = lr_t * 1.5 / 2.3027756... = 0.057447005859207215
//               var = 0.92 - 0.057447005859207215 = 0.8625529941407928
//     Nesterov: numerator 1.5*0.5 + 0.5*1 = 1.25
//               update = lr_t * 1.25 / 2.3027756... = 0.047872504882672674
//               var = 0.88 - 0.047872504882672674 = 0.8321274951173273
// Element 2 moves by the same amounts the other way: 3 + (1 - var0).
TEMPLATE_TEST_CASE("ApplyAdam, plain and Nesterov", "", float, double) {
  using T = TestType;
  const bool nesterov = GENERATE(false, true);
  INFO("nesterov " << nesterov);
  Scope root = Scope::NewRootScope();
  Output w = VariableOf<T>(root, "w", {1, 2, 3});
  Output m = VariableOf<T>(root, "m", {0, 0, 0});
  Output v = VariableOf<T>(root, "v", {0, 0, 0});
  const DType dtype = DTypeOf<T>::value;
  Output b1p = Placeholder(root.WithOpName("beta1_power"), dtype, Shape{});
  Output b2p = Placeholder(root.WithOpName("beta2_power"), dtype, Shape{});
  Output g = Placeholder(root.WithOpName("g"), dtype, Shape{3});
  ApplyAdam(root.WithOpName("step"), w, m, v, b1p, b2p, Scalar<T>(root, 0.1), Scalar<T>(root, 0.5),
            Scalar<T>(root, 0.75), Scalar<T>(root, 0.5), g, {.use_nesterov = nesterov});
  auto session = MakeInitialisedSession(root);

  RunStep(*session, "step",
          {{"beta1_power", Tensor::Scalar(T(0.5))},
           {"beta2_power", Tensor::Scalar(T(0.75))},
           {"g", Values<T>({4, 0, -4})}});
  CheckValue<T>(*session, "m", {2, 0, -2});
  CheckValue<T>(*session, "v", {4, 0, 4});
  CheckValue<T>(*session, "w",
                nesterov ? std::vector<double>{0.88, 2, 3.12} : std::vector<double>{0.92, 2, 3.08});

  RunStep(*session, "step",
          {{"beta1_power", Tensor::Scalar(T(0.25))},
           {"beta2_power", Tensor::Scalar(T(0.5625))},
           {"g", Values<T>({1, 0, -1})}});
  CheckValue<T>(*session, "m", {1.5, 0, -1.5});
  CheckValue<T>(*session, "v", {3.25, 0, 3.25});
  CheckValue<T>(*session, "w",
                nesterov ? std::vector<double>{0.8321274951173273, 2, 3.1678725048826726}
                         : std::vector<double>{0.8625529941407928, 2, 3.137447005859207});
}

// RMSProp with lr = 0.1, rho = 0.5, momentum = 0.5, epsilon = 4, var = [1, 2],
// ms = [1, 1], mom = [0, 0], gradients [3, -3] then [1, -1]. Element 0:
//   step 1: ms = 0.5*1 + 0.5*9 = 5;  sqrt(5 + 4) = 3
//           mom = 0.5*0 + 0.1*3/3 = 0.1;  var = 1 - 0.1 = 0.9
//   step 2: ms = 0.5*5 + 0.5*1 = 3;  sqrt(3 + 4) = 2.6457513110645907
//           mom = 0.5*0.1 + 0.1*1/2.6457513110645907 = 0.08779644730092272
//           var = 0.9 - 0.08779644730092272 = 0.8122035526990773
// Element 1 mirrors it: mom is negated and var = 2 + (1 - var0).
TEMPLATE_TEST_CASE("ApplyRMSProp", "", float, double) {
  using T = TestType;
  Scope root = Scope::NewRootScope();
  Output w = VariableOf<T>(root, "w", {1, 2});
  Output ms = VariableOf<T>(root, "ms", {1, 1});
  Output mom = VariableOf<T>(root, "mom", {0, 0});
  Output g = Placeholder(root.WithOpName("g"), DTypeOf<T>::value, Shape{2});
  ApplyRMSProp(root.WithOpName("step"), w, ms, mom, Scalar<T>(root, 0.1), Scalar<T>(root, 0.5),
               Scalar<T>(root, 0.5), Scalar<T>(root, 4), g);
  auto session = MakeInitialisedSession(root);

  RunStep(*session, "step", {{"g", Values<T>({3, -3})}});
  CheckValue<T>(*session, "ms", {5, 5});
  CheckValue<T>(*session, "mom", {0.1, -0.1});
  CheckValue<T>(*session, "w", {0.9, 2.1});
  RunStep(*session, "step", {{"g", Values<T>({1, -1})}});
  CheckValue<T>(*session, "ms", {3, 3});
  CheckValue<T>(*session, "mom", {0.08779644730092272, -0.08779644730092272});
  CheckValue<T>(*session, "w", {0.8122035526990773, 2.1877964473009227});
}

TEMPLATE_TEST_CASE("ApplyAdagrad, with and without updating its slot", "", float, double) {
  using T = TestType;
  SECTION("update_slots") {
    // lr = 0.5, var = [1, 2], accum = [0, 5]:
    //   g = [3, 2]: accum = [9, 9];   var -= 0.5*[3,2]/3 = [0.5, 1/3]  -> [0.5, 5/3]
    //   g = [4, 0]: accum = [25, 9];  var -= 0.5*[4,0]/[5,3] = [0.4, 0] -> [0.1, 5/3]
    Scope root = Scope::NewRootScope();
    Output w = VariableOf<T>(root, "w", {1, 2});
    Output accum = VariableOf<T>(root, "accum", {0, 5});
    Output g = Placeholder(root.WithOpName("g"), DTypeOf<T>::value, Shape{2});
    ApplyAdagrad(root.WithOpName("step"), w, accum, Scalar<T>(root, 0.5), g);
    auto session = MakeInitialisedSession(root);
    RunStep(*session, "step", {{"g", Values<T>({3, 2})}});
    CheckValue<T>(*session, "accum", {9, 9});
    CheckValue<T>(*session, "w", {0.5, 5.0 / 3});
    RunStep(*session, "step", {{"g", Values<T>({4, 0})}});
    CheckValue<T>(*session, "accum", {25, 9});
    CheckValue<T>(*session, "w", {0.1, 5.0 / 3});
  }
  SECTION("update_slots = false leaves accum alone") {
    // lr = 0.5, var = [1, 2], accum = [4, 16], g = [2, -4] each step:
    //   var -= 0.5*[2,-4]/[2,4] = [0.5, -0.5]  -> [0.5, 2.5], then [0, 3]
    Scope root = Scope::NewRootScope();
    Output w = VariableOf<T>(root, "w", {1, 2});
    Output accum = VariableOf<T>(root, "accum", {4, 16});
    ApplyAdagrad(root.WithOpName("step"), w, accum, Scalar<T>(root, 0.5),
                 Const(root, Values<T>({2, -4})), {.update_slots = false});
    auto session = MakeInitialisedSession(root);
    RunStep(*session, "step");
    CheckValue<T>(*session, "w", {0.5, 2.5});
    RunStep(*session, "step");
    CheckValue<T>(*session, "w", {0, 3});
    CheckValue<T>(*session, "accum", {4, 16});
  }
}

TEST_CASE("Two apply ops on different variables in one run both take effect") {
  Scope root = Scope::NewRootScope();
  Output w1 = VariableOf<float>(root, "w1", {1, 1});
  Output w2 = VariableOf<float>(root, "w2", {5});
  Output accum = VariableOf<float>(root, "accum", {0});
  Output a = ApplyGradientDescent(root.WithOpName("a"), w1, Scalar<float>(root, 0.5),
                                  Const(root, Values<float>({2, 4})), {.use_locking = true});
  // accum = 0*0.9 + 2 = 2;  w2 = 5 - 0.25*2 = 4.5
  Output b = ApplyMomentum(root.WithOpName("b"), w2, accum, Scalar<float>(root, 0.25),
                           Const(root, Values<float>({2})), Scalar<float>(root, 0.9),
                           {.use_locking = true});
  NoOp(root.WithOpName("train").WithControlDependencies(std::vector<Output>{a, b}));
  auto session = MakeInitialisedSession(root);
  RunStep(*session, "train");
  CheckValue<float>(*session, "w1", {0, -1});
  CheckValue<float>(*session, "w2", {4.5});
  // Fetching both outputs runs both again: w1 = [-1, -3]; accum = 1.8 + 2 =
  // 3.8, w2 = 4.5 - 0.25*3.8 = 3.55.
  auto both = session->Run(FeedList{}, {"a", "b"});
  REQUIRE(both.ok());
  CHECK(CompareTensors((*both)[0], Values<float>({-1, -3}), 1e-6, 1e-6).empty());
  CHECK(CompareTensors((*both)[1], Values<float>({3.55}), 1e-6, 1e-6).empty());
}

TEST_CASE("Large variables are updated element by element, across threads and blocks") {
  // 100003 elements: several blocks per thread and a ragged tail. Every
  // element sees the values of element 0 of the Adam case above.
  const int64_t n = 100003;
  Scope root = Scope::NewRootScope();
  auto filled = [](double value, int64_t count) {
    return Values<float>(std::vector<double>(count, value));
  };
  Output w = Variable(root.WithOpName("w"), Shape{n}, DType::kF32, Const(root, filled(1, n)));
  Output m = Variable(root.WithOpName("m"), Shape{n}, DType::kF32, Const(root, filled(0, n)));
  Output v = Variable(root.WithOpName("v"), Shape{n}, DType::kF32, Const(root, filled(0, n)));
  Output b1p = Placeholder(root.WithOpName("beta1_power"), DType::kF32, Shape{});
  Output b2p = Placeholder(root.WithOpName("beta2_power"), DType::kF32, Shape{});
  Output g = Placeholder(root.WithOpName("g"), DType::kF32, Shape{n});
  ApplyAdam(root.WithOpName("step"), w, m, v, b1p, b2p, Scalar<float>(root, 0.1),
            Scalar<float>(root, 0.5), Scalar<float>(root, 0.75), Scalar<float>(root, 0.5), g);
  auto session = MakeInitialisedSession(root);
  RunStep(*session, "step",
          {{"beta1_power", Tensor::Scalar(0.5f)},
           {"beta2_power", Tensor::Scalar(0.75f)},
           {"g", filled(4, n)}});
  RunStep(*session, "step",
          {{"beta1_power", Tensor::Scalar(0.25f)},
           {"beta2_power", Tensor::Scalar(0.5625f)},
           {"g", filled(1, n)}});
  auto out = session->Run(FeedList{}, {"w", "v"});
  REQUIRE(out.ok());
  INFO(CompareTensors((*out)[0], filled(0.8625529941407928, n), 1e-6, 1e-6));
  CHECK(CompareTensors((*out)[0], filled(0.8625529941407928, n), 1e-6, 1e-6).empty());
  CHECK(CompareTensors((*out)[1], filled(3.25, n), 1e-6, 1e-6).empty());
}

TEST_CASE("An uninitialised slot is a FailedPrecondition naming it") {
  Scope root = Scope::NewRootScope();
  Output w = VariableOf<float>(root, "w", {1, 2});
  Output accum = VariableOf<float>(root, "accum", {0, 0});
  ApplyAdagrad(root.WithOpName("step"), w, accum, Scalar<float>(root, 0.1),
               Const(root, Values<float>({1, 1})));
  auto session = MakeSession(root);
  REQUIRE(session->Run(FeedList{}, {}, {"w/Assign"}).ok());
  auto out = session->Run(FeedList{}, {}, {"step"});
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(out.status().message()), Contains("variable 'accum'"));
  // Nothing was updated.
  CheckValue<float>(*session, "w", {1, 2});
}

TEST_CASE("The same variable as var and slot is rejected when the plan is made") {
  Scope root = Scope::NewRootScope();
  Output w = VariableOf<float>(root, "w", {1, 2});
  ApplyMomentum(root.WithOpName("step"), w, w, Scalar<float>(root, 0.1),
                Const(root, Values<float>({1, 1})), Scalar<float>(root, 0.9));
  auto session = MakeInitialisedSession(root);
  auto out = session->Run(FeedList{}, {}, {"step"});
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(out.status().message()),
             Contains("step (ApplyMomentum): inputs 0 (var) and 1 (accum) are the same variable "
                      "'w'"));
}

TEST_CASE("A variable reshaped since the plan was made is an error naming it") {
  Scope root = Scope::NewRootScope();
  Output w = VariableOf<float>(root, "w", {1, 2});
  // Assign without shape validation may give the variable another shape.
  AddOp(root.WithOpName("reshape"), "Assign", {w, Const(root, Values<float>({1, 2, 3}))},
        {{"validate_shape", false}});
  ApplyGradientDescent(root.WithOpName("step"), w, Scalar<float>(root, 0.1),
                       Const(root, Values<float>({1, 1})));
  auto session = MakeInitialisedSession(root);
  REQUIRE(session->Run(FeedList{}, {}, {"reshape"}).ok());
  auto out = session->Run(FeedList{}, {}, {"step"});
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(out.status().message()),
             Contains("variable 'w' holds shape [3] but the gradient has shape [2]"));
}

}  // namespace
}  // namespace sluice
