// The optimizer apply ops: signatures, attributes, shapes and the errors
// their builders and shape functions give.
#include <catch2/catch.hpp>

#include "graph/ops/state.h"
#include "graph/ops/training.h"
#include "graph/scope.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

// A variable of `shape` initialised with zeros.
Output ZeroVariable(const Scope& scope, absl::string_view name, const Shape& shape,
                    DType dtype = DType::kF32) {
  return Variable(scope.WithOpName(name), shape, dtype, Const(scope, Tensor::Zeros(dtype, shape)));
}

std::string Message(const Scope& scope) { return std::string(scope.status().message()); }

TEST_CASE("Apply ops take TF's inputs and attrs and yield the variable's shape") {
  Scope root = Scope::NewRootScope();
  const Shape shape{2, 3};
  Output var = ZeroVariable(root, "w", shape);
  Output a = ZeroVariable(root, "a", shape);
  Output b = ZeroVariable(root, "b", shape);
  Output grad = Placeholder(root.WithOpName("g"), DType::kF32, shape);
  Output lr = Const(root, 0.1f);

  Output gd = ApplyGradientDescent(root.WithOpName("gd"), var, lr, grad);
  Output momentum = ApplyMomentum(root.WithOpName("mom"), var, a, lr, grad, Const(root, 0.9f),
                                  {.use_nesterov = true});
  Output adam = ApplyAdam(root.WithOpName("adam"), var, a, b, lr, lr, lr, lr, lr, lr, grad,
                          {.use_locking = true});
  Output rms = ApplyRMSProp(root.WithOpName("rms"), var, a, b, lr, lr, lr, lr, grad);
  Output adagrad =
      ApplyAdagrad(root.WithOpName("adagrad"), var, a, lr, grad, {.update_slots = false});
  INFO(Message(root));
  REQUIRE(root.ok());

  struct Expected {
    Output out;
    const char* op;
    int num_inputs;
  };
  for (const Expected& e :
       {Expected{gd, "ApplyGradientDescent", 3}, Expected{momentum, "ApplyMomentum", 5},
        Expected{adam, "ApplyAdam", 10}, Expected{rms, "ApplyRMSProp", 8},
        Expected{adagrad, "ApplyAdagrad", 4}}) {
    INFO(e.op);
    CHECK(e.out.node->op() == e.op);
    CHECK(e.out.node->num_inputs() == e.num_inputs);
    CHECK(e.out.node->op_def().is_stateful());
    CHECK_FALSE(e.out.node->op_def().is_differentiable());
    CHECK(e.out.dtype() == DType::kF32);
    CHECK(e.out.shape().ToString() == "[2,3]");
    CHECK(e.out.node->attr("T").dtype() == DType::kF32);
    CHECK(e.out.node->input(0).node == var.node);
  }
  CHECK_FALSE(gd.node->attr("use_locking").b());
  CHECK(momentum.node->attr("use_nesterov").b());
  CHECK(adam.node->attr("use_locking").b());
  CHECK_FALSE(adam.node->attr("use_nesterov").b());
  CHECK_FALSE(adagrad.node->attr("update_slots").b());
  // The TF input order: the gradient is last for Adam, fourth for Momentum.
  CHECK(adam.node->input(9).node == grad.node);
  CHECK(momentum.node->input(3).node == grad.node);
  CHECK(momentum.node->op_def().inputs()[4].name == "momentum");
  CHECK(rms.node->op_def().inputs()[1].name == "ms");
  CHECK(rms.node->op_def().inputs()[2].name == "mom");
}

TEST_CASE("Defaults: no locking, no Nesterov, Adagrad updates its slot") {
  Scope root = Scope::NewRootScope();
  Output lr = Const(root, 0.5);
  Output var64 = ZeroVariable(root, "w64", Shape{2}, DType::kF64);
  Output accum64 = ZeroVariable(root, "accum64", Shape{2}, DType::kF64);
  Output g = Const(root, std::vector<double>{1, 2}, Shape{2});
  Output adagrad = ApplyAdagrad(root, var64, accum64, lr, g);
  Output momentum = ApplyMomentum(root, var64, accum64, lr, g, lr);
  REQUIRE(root.ok());
  CHECK(adagrad.dtype() == DType::kF64);
  CHECK(adagrad.node->attr("update_slots").b());
  CHECK_FALSE(adagrad.node->attr("use_locking").b());
  CHECK_FALSE(momentum.node->attr("use_nesterov").b());
}

TEST_CASE("The variable and slots must be Variable outputs") {
  {
    Scope root = Scope::NewRootScope();
    Output not_var = Const(root, {1.0f, 2.0f});
    ApplyGradientDescent(root.WithOpName("step"), not_var, Const(root, 0.1f),
                         Const(root, {1.0f, 1.0f}));
    REQUIRE_FALSE(root.ok());
    CHECK(root.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(Message(root), Contains("step (ApplyGradientDescent): input 0 (var) must be a "
                                       "Variable, got an output of Const"));
  }
  {
    Scope root = Scope::NewRootScope();
    Output var = ZeroVariable(root, "w", Shape{2});
    Output m = ZeroVariable(root, "m", Shape{2});
    Output lr = Const(root, 0.1f);
    ApplyAdam(root.WithOpName("adam"), var, m, Identity(root, m), lr, lr, lr, lr, lr, lr,
              Const(root, {1.0f, 1.0f}));
    REQUIRE_FALSE(root.ok());
    CHECK_THAT(Message(root),
               Contains("adam (ApplyAdam): input 2 (v) must be a Variable, got an output of "
                        "Identity"));
  }
}

TEST_CASE("Slots and the gradient must have the variable's shape") {
  {
    Scope root = Scope::NewRootScope();
    Output var = ZeroVariable(root, "w", Shape{2});
    Output accum = ZeroVariable(root, "accum", Shape{3});
    ApplyMomentum(root.WithOpName("mom"), var, accum, Const(root, 0.1f), Const(root, {1.0f, 1.0f}),
                  Const(root, 0.9f));
    REQUIRE_FALSE(root.ok());
    CHECK_THAT(Message(root),
               Contains("mom (ApplyMomentum): accum has shape [3] but var has shape [2]"));
  }
  {
    Scope root = Scope::NewRootScope();
    Output var = ZeroVariable(root, "w", Shape{2});
    ApplyGradientDescent(root.WithOpName("gd"), var, Const(root, 0.1f),
                         Const(root, {1.0f, 1.0f, 1.0f}));
    REQUIRE_FALSE(root.ok());
    CHECK_THAT(Message(root), Contains("gd (ApplyGradientDescent): delta of shape [3] does not "
                                       "fit var's shape [2]"));
  }
  {
    Scope root = Scope::NewRootScope();
    Output var = ZeroVariable(root, "w", Shape{2, 2});
    Output ms = ZeroVariable(root, "ms", Shape{2, 2});
    Output mom = ZeroVariable(root, "mom", Shape{2, 2});
    Output lr = Const(root, 0.1f);
    ApplyRMSProp(root.WithOpName("rms"), var, ms, mom, lr, lr, lr, lr,
                 Placeholder(root, DType::kF32, Shape{2, 3}));
    REQUIRE_FALSE(root.ok());
    CHECK_THAT(Message(root), Contains("rms (ApplyRMSProp): grad of shape [2,3] does not fit "
                                       "var's shape [2,2]"));
  }
}

TEST_CASE("A gradient of partly unknown shape is accepted") {
  Scope root = Scope::NewRootScope();
  Output var = ZeroVariable(root, "w", Shape{4, 2});
  Output g = Placeholder(root, DType::kF32, Shape{kUnknownDim, 2});
  Output lr = Placeholder(root, DType::kF32);  // unknown rank: checked at run time
  Output step = ApplyGradientDescent(root, var, lr, g);
  REQUIRE(root.ok());
  CHECK(step.shape().ToString() == "[4,2]");
}

TEST_CASE("Hyper-parameters must be scalars") {
  {
    Scope root = Scope::NewRootScope();
    Output var = ZeroVariable(root, "w", Shape{2});
    Output accum = ZeroVariable(root, "accum", Shape{2});
    ApplyAdagrad(root.WithOpName("adagrad"), var, accum, Const(root, {0.1f, 0.1f}),
                 Const(root, {1.0f, 1.0f}));
    REQUIRE_FALSE(root.ok());
    CHECK(root.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(Message(root),
               Contains("adagrad (ApplyAdagrad): lr must be a scalar, got shape [2]"));
  }
  {
    Scope root = Scope::NewRootScope();
    Output var = ZeroVariable(root, "w", Shape{2});
    Output m = ZeroVariable(root, "m", Shape{2});
    Output v = ZeroVariable(root, "v", Shape{2});
    Output s = Const(root, 0.5f);
    ApplyAdam(root.WithOpName("adam"), var, m, v, s, s, s, s, s,
              Placeholder(root, DType::kF32, Shape{1}), Const(root, {1.0f, 1.0f}));
    REQUIRE_FALSE(root.ok());
    CHECK_THAT(Message(root),
               Contains("adam (ApplyAdam): epsilon must be a scalar, got shape [1]"));
  }
  {
    Scope root = Scope::NewRootScope();
    Output var = ZeroVariable(root, "w", Shape{2});
    Output accum = ZeroVariable(root, "accum", Shape{2});
    ApplyMomentum(root.WithOpName("mom"), var, accum, Const(root, 0.1f), Const(root, {1.0f, 1.0f}),
                  Const(root, std::vector<float>{0.9f}, Shape{1, 1}));
    REQUIRE_FALSE(root.ok());
    CHECK_THAT(Message(root),
               Contains("mom (ApplyMomentum): momentum must be a scalar, got shape [1,1]"));
  }
}

TEST_CASE("All inputs share one floating dtype") {
  {
    Scope root = Scope::NewRootScope();
    Output var = ZeroVariable(root, "w", Shape{2});
    ApplyGradientDescent(root.WithOpName("gd"), var, Const(root, 0.1), Const(root, {1.0f, 1.0f}));
    REQUIRE_FALSE(root.ok());
    CHECK_THAT(Message(root),
               Contains("gd (ApplyGradientDescent): input 1 (alpha) is f64 but should be f32 "
                        "(attr T)"));
  }
  {
    Scope root = Scope::NewRootScope();
    Output var = ZeroVariable(root, "w", Shape{2}, DType::kI32);
    ApplyGradientDescent(root.WithOpName("gd"), var, Const(root, int32_t{1}),
                         Const(root, std::vector<int32_t>{1, 1}));
    REQUIRE_FALSE(root.ok());
    CHECK_THAT(Message(root), Contains("gd (ApplyGradientDescent): attr 'T' = i32 is not allowed"));
  }
}

TEST_CASE("Apply builders do nothing after an earlier error") {
  Scope root = Scope::NewRootScope();
  Output var = ZeroVariable(root, "w", Shape{2});
  root.UpdateStatus(absl::InternalError("earlier"));
  Output step = ApplyGradientDescent(root, var, Const(root, 0.1f), Const(root, {1.0f, 1.0f}));
  CHECK_FALSE(step.valid());
  CHECK(root.status().message() == "earlier");
}

}  // namespace
}  // namespace sluice
