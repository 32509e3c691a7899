// CUDA kernels of the element-wise family: unary math and activations,
// broadcasting binary ops, comparisons, logic, Select, Cast, AddN, BiasAdd,
// the activation gradients, BiasAddGrad and _FusedElementwise.
//
// The CPU kernels (cpu/elementwise.cc, cpu/nn_grad.cc, cpu/fused.cc) are
// the reference: the same dtypes, formulas and errors. Broadcast strides,
// op codes and the fused program are planned in the factory; Compute only
// launches (cuda/elementwise_launch.h) on the session's stream.
//
// Where the CPU checks data on every run (integer Div by zero, integer Pow
// with a negative exponent), a device kernel cannot report an error without
// waiting for the stream. When the operand is known while the plan is
// compiled, the factory returns the CPU's error; otherwise the kernel gives
// the defined results that cuda/elementwise_launch.h documents.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "cuda/elementwise_launch.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"
#include "kernels/shape_checks.h"
#include "kernels/state_kernels.h"

namespace sluice::cuda {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

// The CPU's dtype lists for these ops (16-bit floats only reach Cast).
const std::vector<DType> kFloat = {DType::kF32, DType::kF64};
const std::vector<DType> kSigned = {DType::kF32, DType::kF64, DType::kI8, DType::kI32, DType::kI64};
const std::vector<DType> kArithmetic = {DType::kF32, DType::kF64, DType::kI8,
                                        DType::kU8,  DType::kI32, DType::kI64};
const std::vector<DType> kComparable = {DType::kF32, DType::kF64, DType::kI8,  DType::kU8,
                                        DType::kI32, DType::kI64, DType::kBool};

EwType EwTypeOf(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return EwType::kF32;
    case DType::kF64:
      return EwType::kF64;
    case DType::kF16:
      return EwType::kF16;
    case DType::kBF16:
      return EwType::kBF16;
    case DType::kI8:
      return EwType::kI8;
    case DType::kU8:
      return EwType::kU8;
    case DType::kI32:
      return EwType::kI32;
    case DType::kI64:
      return EwType::kI64;
    case DType::kBool:
      return EwType::kBool;
    case DType::kInvalid:
      break;
  }
  return EwType::kF32;  // not reached: kernels are registered for valid dtypes only
}

// `inputs` broadcast to `output` (the shape function's result), as
// cpu/broadcast.cc plans it: size-1 output dims dropped, adjacent dims
// where every input broadcasts alike merged. `too_many` is the
// Unimplemented message when more than kEwMaxRank dims remain.
absl::StatusOr<EwBroadcast> PlanBroadcast(const std::vector<Shape>& inputs, const Shape& output,
                                          absl::string_view too_many) {
  const int n = static_cast<int>(inputs.size());
  if (n > kEwMaxInputs) return absl::InternalError("too many broadcast inputs");
  const int out_rank = output.rank();
  std::vector<int64_t> dims;
  std::vector<std::vector<bool>> broadcast;  // per merged dim, per input
  for (int d = 0; d < out_rank; ++d) {
    const int64_t size = output.dim(d);
    if (size == 1) continue;
    std::vector<bool> flags(n);
    for (int k = 0; k < n; ++k) {
      const int kd = inputs[k].rank() - out_rank + d;
      flags[k] = kd < 0 || inputs[k].dim(kd) == 1;
      if (!flags[k] && inputs[k].dim(kd) != size) {
        return absl::InternalError(absl::StrCat("input ", k, " ", inputs[k].ToString(),
                                                " does not broadcast to ", output.ToString()));
      }
    }
    if (!dims.empty() && broadcast.back() == flags) {
      dims.back() *= size;
    } else {
      dims.push_back(size);
      broadcast.push_back(std::move(flags));
    }
  }
  if (static_cast<int>(dims.size()) > kEwMaxRank) {
    return absl::UnimplementedError(std::string(too_many));
  }
  EwBroadcast plan;
  plan.rank = static_cast<int>(dims.size());
  plan.num_inputs = n;
  plan.num_elements = output.num_elements();
  for (int d = 0; d < plan.rank; ++d) plan.dims[d] = dims[d];
  for (int k = 0; k < n; ++k) {
    int64_t stride = 1;
    for (int d = plan.rank - 1; d >= 0; --d) {
      plan.strides[k][d] = broadcast[d][k] ? 0 : stride;
      if (!broadcast[d][k]) stride *= dims[d];
    }
  }
  return plan;
}

absl::StatusOr<EwBroadcast> PlanInputs(const KernelInit& init, int num_inputs) {
  std::vector<Shape> shapes;
  for (int i = 0; i < num_inputs; ++i) shapes.push_back(init.input_shape(i));
  return PlanBroadcast(shapes, init.output_shape(0),
                       absl::StrCat("broadcasting over more than ", kEwMaxRank, " distinct dims"));
}

// ---------------------------------------------------------------------------
// Unary ops.

class UnaryKernel final : public OpKernel {
 public:
  UnaryKernel(CudaContext* context, UnaryOp op, EwType type, float alpha)
      : context_(context), op_(op), type_(type), alpha_(alpha) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& y = ctx.output(0);
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchUnary(op_, type_, ctx.input(0).raw_data(), y.raw_data(),
                                            y.num_elements(), alpha_, context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const UnaryOp op_;
  const EwType type_;
  const float alpha_;
};

void RegisterUnary(KernelRegistry& r, const char* name, const std::vector<DType>& dtypes,
                   UnaryOp op) {
  r.Register(name, DeviceType::kCuda, dtypes, [op](const KernelInit& init) -> KernelOr {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    return std::make_unique<UnaryKernel>(context, op, EwTypeOf(init.input_dtype(0)), 0.0f);
  });
}

// ---------------------------------------------------------------------------
// Binary ops with broadcasting (also BiasAdd, an Add with a planned bias
// shape).

class BinaryKernel final : public OpKernel {
 public:
  BinaryKernel(CudaContext* context, BinaryOp op, EwType type, const EwBroadcast& plan)
      : context_(context), op_(op), type_(type), plan_(plan) {}

  absl::Status Compute(const KernelContext& ctx) override {
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchBinary(op_, type_, plan_, ctx.input(0).raw_data(),
                                             ctx.input(1).raw_data(), ctx.output(0).raw_data(),
                                             context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const BinaryOp op_;
  const EwType type_;
  const EwBroadcast plan_;
};

// The CPU's per-run checks of an integer right operand, made once here when
// the operand's value is known while compiling.
absl::Status CheckKnownRightOperand(const KernelInit& init, BinaryOp op) {
  if (op != BinaryOp::kDiv && op != BinaryOp::kPow) return absl::OkStatus();
  if (!IsInteger(init.input_dtype(1))) return absl::OkStatus();
  const Tensor* value = init.input_value(1);
  if (value == nullptr) return absl::OkStatus();
  for (int64_t i = 0; i < value->num_elements(); ++i) {
    const double v = value->ElementAsDouble(i);
    if (op == BinaryOp::kDiv && v == 0) {
      return absl::InvalidArgumentError("Integer division by zero");
    }
    if (op == BinaryOp::kPow && v < 0) {
      return absl::InvalidArgumentError("Integers to negative integer powers are not allowed");
    }
  }
  return absl::OkStatus();
}

void RegisterBinary(KernelRegistry& r, const char* name, const std::vector<DType>& dtypes,
                    BinaryOp op) {
  r.Register(name, DeviceType::kCuda, dtypes, [op](const KernelInit& init) -> KernelOr {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    ASSIGN_OR_RETURN(const EwBroadcast plan, PlanInputs(init, 2));
    RETURN_IF_ERROR(CheckKnownRightOperand(init, op));
    return std::make_unique<BinaryKernel>(context, op, EwTypeOf(init.input_dtype(0)), plan);
  });
}

KernelOr MakeBiasAdd(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const Shape& value = init.input_shape(0);
  Shape bias_shape{init.input_shape(1).dim(0)};
  if (init.attr("data_format").s() == "NCHW" && value.rank() >= 3) {
    for (int d = 2; d < value.rank(); ++d) bias_shape.AddDim(1);
  }
  ASSIGN_OR_RETURN(const EwBroadcast plan, PlanBroadcast({value, bias_shape}, init.output_shape(0),
                                                         "BiasAdd over too many dims"));
  return std::make_unique<BinaryKernel>(context, BinaryOp::kAdd, EwTypeOf(init.input_dtype(0)),
                                        plan);
}

// ---------------------------------------------------------------------------
// Select(condition, t, e), all three broadcast.

class SelectKernel final : public OpKernel {
 public:
  SelectKernel(CudaContext* context, int element_bytes, const EwBroadcast& plan)
      : context_(context), element_bytes_(element_bytes), plan_(plan) {}

  absl::Status Compute(const KernelContext& ctx) override {
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchSelect(element_bytes_, plan_,
                                             static_cast<const bool*>(ctx.input(0).raw_data()),
                                             ctx.input(1).raw_data(), ctx.input(2).raw_data(),
                                             ctx.output(0).raw_data(), context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const int element_bytes_;
  const EwBroadcast plan_;
};

KernelOr MakeSelect(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  ASSIGN_OR_RETURN(const EwBroadcast plan, PlanInputs(init, 3));
  return std::make_unique<SelectKernel>(context, DTypeSize(init.output_dtype(0)), plan);
}

// ---------------------------------------------------------------------------
// Cast.

class CastKernel final : public OpKernel {
 public:
  CastKernel(CudaContext* context, EwType from, EwType to)
      : context_(context), from_(from), to_(to) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& y = ctx.output(0);
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchCast(from_, to_, ctx.input(0).raw_data(), y.raw_data(),
                                           y.num_elements(), context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const EwType from_;
  const EwType to_;
};

KernelOr MakeCast(const KernelInit& init) {
  const DType from = init.input_dtype(0);
  const DType to = init.output_dtype(0);
  // The same dtype: the output is the input.
  if (from == to) return std::make_unique<ForwardKernel>();
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  return std::make_unique<CastKernel>(context, EwTypeOf(from), EwTypeOf(to));
}

// ---------------------------------------------------------------------------
// AddN: inputs summed in order, kAddNMaxInputs per launch.

class AddNKernel final : public OpKernel {
 public:
  AddNKernel(CudaContext* context, EwType type) : context_(context), type_(type) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    const int count = static_cast<int>(ctx.inputs.size());
    for (int first = 0; first < count; first += kAddNMaxInputs) {
      AddNInputs batch;
      batch.count = std::min(kAddNMaxInputs, count - first);
      for (int k = 0; k < batch.count; ++k) batch.inputs[k] = ctx.input(first + k).raw_data();
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchAddN(type_, batch, first > 0, out.raw_data(),
                                             out.num_elements(), context_->stream()));
    }
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const EwType type_;
};

KernelOr MakeAddN(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const int64_t n = init.output_shape(0).num_elements();
  for (int i = 0; i < init.num_inputs(); ++i) {
    if (init.input_shape(i).num_elements() != n) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", i, " ", init.input_shape(i).ToString(),
                       " differs from the output ", init.output_shape(0).ToString()));
    }
  }
  return std::make_unique<AddNKernel>(context, EwTypeOf(init.output_dtype(0)));
}

class ActivationGradKernel final : public OpKernel {
 public:
  // `gradient_input` is the index of the incoming gradient: 0 for
  // (gradients, features), 1 for TensorFlow's (y, dy).
  ActivationGradKernel(CudaContext* context, ActivationGradOp op, EwType type, float alpha,
                       int gradient_input)
      : context_(context), op_(op), type_(type), alpha_(alpha), gradient_input_(gradient_input) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    SLUICE_CUDA_RETURN_IF_ERROR(
        LaunchActivationGrad(op_, type_, ctx.input(gradient_input_).raw_data(),
                             ctx.input(1 - gradient_input_).raw_data(), out.raw_data(),
                             out.num_elements(), alpha_, context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const ActivationGradOp op_;
  const EwType type_;
  const float alpha_;
  const int gradient_input_;
};

void RegisterActivationGrad(KernelRegistry& r, const char* name, int gradient_input,
                            ActivationGradOp op) {
  r.Register(
      name, DeviceType::kCuda, kFloat, [op, gradient_input](const KernelInit& init) -> KernelOr {
        ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
        RETURN_IF_ERROR(CheckSameInputShapes(init));
        RETURN_IF_ERROR(CheckOutputShape(init, 0, init.input_shape(0)));
        ActivationGradOp chosen = op;
        float alpha = 0.0f;
        if (op == ActivationGradOp::kLeakyRelu) alpha = init.attr("alpha").f();
        if (op == ActivationGradOp::kGelu && init.attr("approximate").b()) {
          chosen = ActivationGradOp::kGeluTanh;
        }
        return std::make_unique<ActivationGradKernel>(
            context, chosen, EwTypeOf(init.input_dtype(0)), alpha, gradient_input);
      });
}

// ---------------------------------------------------------------------------
// BiasAddGrad(out_backprop; data_format) -> [C]: the sum over every dim but
// the channel one, with the input viewed as [outer, C, inner].

class BiasAddGradKernel final : public OpKernel {
 public:
  BiasAddGradKernel(CudaContext* context, EwType type, int64_t outer, int64_t channels,
                    int64_t inner, int64_t chunks)
      : context_(context),
        type_(type),
        outer_(outer),
        channels_(channels),
        inner_(inner),
        chunks_(chunks) {}

  absl::Status Compute(const KernelContext& ctx) override {
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchBiasAddGrad(
        type_, ctx.input(0).raw_data(), ctx.output(0).raw_data(), outer_, channels_, inner_,
        chunks_, chunks_ > 1 ? context_->workspace() : nullptr, context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const EwType type_;
  const int64_t outer_, channels_, inner_, chunks_;
};

KernelOr MakeBiasAddGrad(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const Shape& value = init.input_shape(0);
  const bool nchw = init.attr("data_format").s() == "NCHW";
  if (value.rank() < (nchw ? 3 : 1)) {
    return absl::InvalidArgumentError(absl::StrCat("out_backprop must have rank >= ", nchw ? 3 : 1,
                                                   " with data_format ", nchw ? "NCHW" : "NHWC",
                                                   ", got ", value.ToString()));
  }
  const int channel_dim = nchw ? 1 : value.rank() - 1;
  const int64_t channels = value.dim(channel_dim);
  RETURN_IF_ERROR(CheckOutputShape(init, 0, Shape{channels}));
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < channel_dim; ++d) outer *= value.dim(d);
  for (int d = channel_dim + 1; d < value.rank(); ++d) inner *= value.dim(d);
  if (channels > 0x7fffffff) {
    return absl::UnimplementedError(
        absl::StrCat("BiasAddGrad over ", channels, " channels (at most 2^31 - 1)"));
  }
  const int64_t chunks = outer * inner == 0 ? 1 : BiasGradChunks(outer, inner);
  if (chunks > 1) {
    RETURN_IF_ERROR(context->ReserveWorkspace(chunks * channels * DTypeSize(init.input_dtype(0))));
  }
  return std::make_unique<BiasAddGradKernel>(context, EwTypeOf(init.input_dtype(0)), outer,
                                             channels, inner, chunks);
}

// ---------------------------------------------------------------------------
// _FusedElementwise(x, args...; fused_ops, operands, reversed, alphas).
//
// The chain is cut into segments of at most kFusedMaxSteps steps reading at
// most kFusedMaxOperands distinct args; the first segment maps x to y and
// each later one maps y to itself, so any chain runs, short ones (all that
// the fusion pass usually makes) in one launch.

struct FusedStepCode {
  bool binary;
  int op;
};

absl::StatusOr<FusedStepCode> ParseFusedStep(absl::string_view op) {
  static constexpr std::pair<absl::string_view, UnaryOp> kUnary[] = {
      {"Neg", UnaryOp::kNeg},           {"Square", UnaryOp::kSquare},
      {"Abs", UnaryOp::kAbs},           {"Sqrt", UnaryOp::kSqrt},
      {"Rsqrt", UnaryOp::kRsqrt},       {"Exp", UnaryOp::kExp},
      {"Log", UnaryOp::kLog},           {"Relu", UnaryOp::kRelu},
      {"Relu6", UnaryOp::kRelu6},       {"Elu", UnaryOp::kElu},
      {"Sigmoid", UnaryOp::kSigmoid},   {"Tanh", UnaryOp::kTanh},
      {"Softplus", UnaryOp::kSoftplus}, {"LeakyRelu", UnaryOp::kLeakyRelu}};
  static constexpr std::pair<absl::string_view, BinaryOp> kBinary[] = {
      {"Add", BinaryOp::kAdd}, {"Sub", BinaryOp::kSub},         {"Mul", BinaryOp::kMul},
      {"Div", BinaryOp::kDiv}, {"Maximum", BinaryOp::kMaximum}, {"Minimum", BinaryOp::kMinimum},
      {"Pow", BinaryOp::kPow}};
  for (const auto& [name, code] : kUnary) {
    if (name == op) return FusedStepCode{false, static_cast<int>(code)};
  }
  for (const auto& [name, code] : kBinary) {
    if (name == op) return FusedStepCode{true, static_cast<int>(code)};
  }
  return absl::UnimplementedError(absl::StrCat("no fused element-wise step for ", op));
}

struct FusedPiece {
  FusedSegment segment;       // operand pointers filled in on every run
  std::vector<int> operands;  // the kernel input of each operand slot
};

class FusedElementwiseKernel final : public OpKernel {
 public:
  FusedElementwiseKernel(CudaContext* context, std::vector<FusedPiece> pieces)
      : context_(context), pieces_(std::move(pieces)) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& y = ctx.output(0);
    float* out = static_cast<float*>(y.raw_data());
    const float* in = static_cast<const float*>(ctx.input(0).raw_data());
    for (const FusedPiece& piece : pieces_) {
      FusedSegment segment = piece.segment;
      for (size_t k = 0; k < piece.operands.size(); ++k) {
        segment.operands[k] = static_cast<const float*>(ctx.input(piece.operands[k]).raw_data());
        // Later segments read args after earlier ones wrote y, so no arg
        // may share y's buffer (the memory planner does not run this op in
        // place).
        if (&piece != &pieces_.front() && segment.operands[k] == out) {
          return absl::InternalError("an arg of a multi-launch chain shares the output's buffer");
        }
      }
      SLUICE_CUDA_RETURN_IF_ERROR(
          LaunchFusedSegment(segment, in, out, y.num_elements(), context_->stream()));
      in = out;
    }
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const std::vector<FusedPiece> pieces_;
};

KernelOr MakeFusedElementwise(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const std::vector<std::string>& ops = init.attr("fused_ops").strings();
  const std::vector<int64_t>& operands = init.attr("operands").ints();
  const std::vector<bool>& reversed = init.attr("reversed").bools();
  const std::vector<float>& alphas = init.attr("alphas").floats();
  if (operands.size() != ops.size() || reversed.size() != ops.size() ||
      alphas.size() != ops.size()) {
    return absl::InvalidArgumentError("fused_ops, operands, reversed and alphas differ in length");
  }
  const int64_t n = init.output_shape(0).num_elements();
  std::vector<FusedPiece> pieces;
  for (size_t i = 0; i < ops.size(); ++i) {
    ASSIGN_OR_RETURN(const FusedStepCode code, ParseFusedStep(ops[i]));
    FusedStep step;
    step.op = code.op;
    step.reversed = reversed[i];
    step.alpha = alphas[i];
    int input = -1;
    bool scalar = false;
    if (operands[i] >= 0) {
      input = static_cast<int>(operands[i]) + 1;
      if (input >= init.num_inputs()) {
        return absl::InvalidArgumentError(absl::StrCat("step ", i, ": no operand ", operands[i]));
      }
      const int64_t count = init.input_shape(input).num_elements();
      scalar = count == 1;
      if (!scalar && count != n) {
        return absl::InvalidArgumentError(
            absl::StrCat("step ", i, ": operand ", init.input_shape(input).ToString(),
                         " is neither one element nor the output's size"));
      }
    }
    if (code.binary && input < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("step ", i, ": ", ops[i], " needs an operand, got ", operands[i]));
    }
    if (!code.binary) input = -1;  // a unary step reads no operand
    // Start a new segment when this step does not fit the current one.
    const bool new_operand =
        input >= 0 &&
        (pieces.empty() || std::find(pieces.back().operands.begin(), pieces.back().operands.end(),
                                     input) == pieces.back().operands.end());
    if (pieces.empty() || pieces.back().segment.num_steps == kFusedMaxSteps ||
        (new_operand && pieces.back().operands.size() == kFusedMaxOperands)) {
      pieces.emplace_back();
    }
    FusedPiece& piece = pieces.back();
    if (input >= 0) {
      auto it = std::find(piece.operands.begin(), piece.operands.end(), input);
      if (it == piece.operands.end()) it = piece.operands.insert(piece.operands.end(), input);
      step.operand = static_cast<int>(it - piece.operands.begin());
      piece.segment.operand_scalar[step.operand] = scalar;
    }
    piece.segment.steps[piece.segment.num_steps++] = step;
  }
  if (init.input_shape(0).num_elements() != n) {
    return absl::InvalidArgumentError("x and the output differ in size");
  }
  if (pieces.empty()) pieces.emplace_back();  // no steps: y = x
  return std::make_unique<FusedElementwiseKernel>(context, std::move(pieces));
}

}  // namespace

void RegisterElementwiseKernels(KernelRegistry& r) {
  RegisterUnary(r, "Neg", kSigned, UnaryOp::kNeg);
  RegisterUnary(r, "Square", kSigned, UnaryOp::kSquare);
  RegisterUnary(r, "Abs", kSigned, UnaryOp::kAbs);
  RegisterUnary(r, "Sign", kSigned, UnaryOp::kSign);
  RegisterUnary(r, "Sqrt", kFloat, UnaryOp::kSqrt);
  RegisterUnary(r, "Rsqrt", kFloat, UnaryOp::kRsqrt);
  RegisterUnary(r, "Exp", kFloat, UnaryOp::kExp);
  RegisterUnary(r, "Log", kFloat, UnaryOp::kLog);
  RegisterUnary(r, "Relu", kFloat, UnaryOp::kRelu);
  RegisterUnary(r, "Relu6", kFloat, UnaryOp::kRelu6);
  RegisterUnary(r, "Elu", kFloat, UnaryOp::kElu);
  RegisterUnary(r, "Sigmoid", kFloat, UnaryOp::kSigmoid);
  RegisterUnary(r, "Tanh", kFloat, UnaryOp::kTanh);
  RegisterUnary(r, "Softplus", kFloat, UnaryOp::kSoftplus);
  RegisterUnary(r, "LogicalNot", {DType::kBool}, UnaryOp::kLogicalNot);
  r.Register("LeakyRelu", DeviceType::kCuda, kFloat, [](const KernelInit& init) -> KernelOr {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    return std::make_unique<UnaryKernel>(context, UnaryOp::kLeakyRelu,
                                         EwTypeOf(init.input_dtype(0)), init.attr("alpha").f());
  });
  r.Register("Gelu", DeviceType::kCuda, kFloat, [](const KernelInit& init) -> KernelOr {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    const UnaryOp op = init.attr("approximate").b() ? UnaryOp::kGeluTanh : UnaryOp::kGelu;
    return std::make_unique<UnaryKernel>(context, op, EwTypeOf(init.input_dtype(0)), 0.0f);
  });

  RegisterBinary(r, "Add", kArithmetic, BinaryOp::kAdd);
  RegisterBinary(r, "Sub", kArithmetic, BinaryOp::kSub);
  RegisterBinary(r, "Mul", kArithmetic, BinaryOp::kMul);
  RegisterBinary(r, "Div", kArithmetic, BinaryOp::kDiv);
  RegisterBinary(r, "Maximum", kArithmetic, BinaryOp::kMaximum);
  RegisterBinary(r, "Minimum", kArithmetic, BinaryOp::kMinimum);
  RegisterBinary(r, "Pow", {DType::kF32, DType::kF64, DType::kI32, DType::kI64}, BinaryOp::kPow);
  RegisterBinary(r, "Equal", kComparable, BinaryOp::kEqual);
  RegisterBinary(r, "NotEqual", kComparable, BinaryOp::kNotEqual);
  RegisterBinary(r, "Less", kArithmetic, BinaryOp::kLess);
  RegisterBinary(r, "LessEqual", kArithmetic, BinaryOp::kLessEqual);
  RegisterBinary(r, "Greater", kArithmetic, BinaryOp::kGreater);
  RegisterBinary(r, "GreaterEqual", kArithmetic, BinaryOp::kGreaterEqual);
  RegisterBinary(r, "LogicalAnd", {DType::kBool}, BinaryOp::kLogicalAnd);
  RegisterBinary(r, "LogicalOr", {DType::kBool}, BinaryOp::kLogicalOr);

  r.Register("Select", DeviceType::kCuda, kComparable, MakeSelect);
  r.Register("Cast", DeviceType::kCuda,
             std::vector<DType>(std::begin(kAllDTypes), std::end(kAllDTypes)), MakeCast);
  r.Register("AddN", DeviceType::kCuda, {DType::kF32, DType::kF64, DType::kI32, DType::kI64},
             MakeAddN);
  r.Register("BiasAdd", DeviceType::kCuda, kFloat, MakeBiasAdd);

  RegisterActivationGrad(r, "ReluGrad", 0, ActivationGradOp::kRelu);
  RegisterActivationGrad(r, "Relu6Grad", 0, ActivationGradOp::kRelu6);
  RegisterActivationGrad(r, "EluGrad", 0, ActivationGradOp::kElu);
  RegisterActivationGrad(r, "SoftplusGrad", 0, ActivationGradOp::kSoftplus);
  RegisterActivationGrad(r, "LeakyReluGrad", 0, ActivationGradOp::kLeakyRelu);
  RegisterActivationGrad(r, "GeluGrad", 0, ActivationGradOp::kGelu);
  RegisterActivationGrad(r, "SigmoidGrad", 1, ActivationGradOp::kSigmoid);
  RegisterActivationGrad(r, "TanhGrad", 1, ActivationGradOp::kTanh);
  r.Register("BiasAddGrad", DeviceType::kCuda, kFloat, MakeBiasAddGrad);

  r.Register("_FusedElementwise", DeviceType::kCuda, {DType::kF32}, MakeFusedElementwise);
}

}  // namespace sluice::cuda
