// What every device's apply kernels share: binding refs to variable store
// slots, the checks before an update and the update locks.
#include "kernels/training_checks.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel.h"
#include "kernels/variable_store.h"

namespace sluice {
namespace {

Node* AddTo(Graph& graph, const std::string& name, const std::string& op,
            std::vector<Output> inputs, AttrMap attrs) {
  NodeSpec spec{name, op, std::move(inputs), {}, std::move(attrs), ""};
  absl::StatusOr<Node*> node = graph.AddNode(std::move(spec));
  INFO(node.status().ToString());
  REQUIRE(node.ok());
  return *node;
}

// var -= alpha * delta over a [2,3] variable "w".
struct GradientDescentGraph {
  Graph graph;
  Node* apply = nullptr;

  GradientDescentGraph() {
    Node* w = AddTo(graph, "w", "Variable", {}, {{"shape", Shape{2, 3}}, {"dtype", DType::kF32}});
    Node* alpha =
        AddTo(graph, "alpha", "Placeholder", {}, {{"shape", Shape{}}, {"dtype", DType::kF32}});
    Node* delta =
        AddTo(graph, "delta", "Placeholder", {}, {{"shape", Shape{2, 3}}, {"dtype", DType::kF32}});
    apply = AddTo(graph, "apply", "ApplyGradientDescent",
                  {Output(w, 0), Output(alpha, 0), Output(delta, 0)}, {});
  }
};

TEST_CASE("ApplyVariableSlots finds the slot of every ref input") {
  GradientDescentGraph g;
  VariableStore variables;
  const KernelInit init{*g.apply, DeviceType::kCpu, &variables};
  absl::StatusOr<std::vector<VariableSlot*>> slots = ApplyVariableSlots(init, 1, nullptr);
  REQUIRE(slots.ok());
  REQUIRE(slots->size() == 1);
  CHECK((*slots)[0]->name() == "w");
  CHECK((*slots)[0]->declared_shape() == Shape{2, 3});
  CHECK((*slots)[0]->device() == nullptr);
}

TEST_CASE("ApplyVariableSlots needs a variable store") {
  GradientDescentGraph g;
  const KernelInit init{*g.apply};
  const absl::Status status = ApplyVariableSlots(init, 1, nullptr).status();
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(status.message()) == "apply ops need a session's variable store");
}

TEST_CASE("ApplyVariableSlots rejects one variable in two ref inputs") {
  Graph graph;
  Node* w = AddTo(graph, "w", "Variable", {}, {{"shape", Shape{3}}, {"dtype", DType::kF32}});
  Node* scalar = AddTo(graph, "s", "Placeholder", {}, {{"shape", Shape{}}, {"dtype", DType::kF32}});
  Node* grad = AddTo(graph, "g", "Placeholder", {}, {{"shape", Shape{3}}, {"dtype", DType::kF32}});
  Node* apply = AddTo(
      graph, "apply", "ApplyMomentum",
      {Output(w, 0), Output(w, 0), Output(scalar, 0), Output(grad, 0), Output(scalar, 0)}, {});
  VariableStore variables;
  const KernelInit init{*apply, DeviceType::kCpu, &variables};
  const absl::Status status = ApplyVariableSlots(init, 2, nullptr).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) == "inputs 0 (var) and 1 (accum) are the same variable 'w'");
}

TEST_CASE("UpdateBuffer checks the variable before an update") {
  VariableSlot slot("w", DType::kF32, Shape{2, 3});
  absl::StatusOr<void*> buffer = UpdateBuffer(slot, Shape{2, 3});
  CHECK(buffer.status().code() == absl::StatusCode::kFailedPrecondition);
  slot.Set(Tensor(DType::kF32, Shape{2, 3}));
  buffer = UpdateBuffer(slot, Shape{2, 3});
  REQUIRE(buffer.ok());
  CHECK(*buffer == slot.mutable_value_unlocked().raw_data());
  // As after an Assign with validate_shape=false.
  slot.Set(Tensor(DType::kF32, Shape{6}));
  buffer = UpdateBuffer(slot, Shape{2, 3});
  CHECK(buffer.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(buffer.status().message()) ==
        "variable 'w' holds shape [6] but the gradient has shape [2,3]");
}

TEST_CASE("UpdateLocks holds every mutex while it lives, only when enabled") {
  VariableSlot a("a", DType::kF32, Shape{1});
  VariableSlot b("b", DType::kF32, Shape{1});
  const std::vector<std::mutex*> mutexes = SortedUpdateMutexes({&b, &a});
  REQUIRE(mutexes.size() == 2);
  CHECK(mutexes[0] < mutexes[1]);
  {
    UpdateLocks locks(mutexes, /*enabled=*/true);
    CHECK_FALSE(a.update_mutex().try_lock());
    CHECK_FALSE(b.update_mutex().try_lock());
  }
  {
    UpdateLocks locks(mutexes, /*enabled=*/false);
    CHECK(a.update_mutex().try_lock());
    a.update_mutex().unlock();
  }
  CHECK(b.update_mutex().try_lock());
  b.update_mutex().unlock();
}

}  // namespace
}  // namespace sluice
