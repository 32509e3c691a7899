// Random ops: signatures, shape functions and builders.
#include "graph/ops/random.h"

#include "absl/strings/str_join.h"
#include "graph/op_def.h"
#include "graph/ops/array.h"
#include "graph/ops/op_families.h"
#include "graph/shape_inference.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

// The output shape is the value of the `shape` input, as far as it is known.
absl::Status RandomShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 1));
  if (auto values = c.IntValuesOfInput(0)) {
    for (int64_t v : *values) {
      if (v < 0) {
        return c.Error("shape [", absl::StrJoin(*values, ","), "] must be non-negative");
      }
    }
  }
  ASSIGN_OR_RETURN(Shape out, c.ShapeFromInput(0));
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

Output AddRandomOp(const Scope& scope, absl::string_view op, Output shape, DType dtype,
                   const RandomOptions& options) {
  return AddOp(scope, op, {shape},
               {{"dtype", dtype}, {"seed", options.seed}, {"seed2", options.seed2}});
}

}  // namespace

void RegisterRandomOps(OpRegistry& r) {
  struct RandomOp {
    const char* name;
    const char* doc;
  };
  for (const RandomOp& op : {
           RandomOp{"RandomUniform", "Uniform values in [0, 1)."},
           RandomOp{"RandomNormal", "Normal values with mean 0 and standard deviation 1."},
           RandomOp{"TruncatedNormal",
                    "Normal values, redrawn when beyond two standard deviations."},
       }) {
    r.Register(OpDefBuilder(op.name)
                   .Input("shape: T")
                   .Output("output: dtype")
                   .Attr("T: {i32, i64}")
                   .Attr("dtype: {floating}")
                   .Attr("seed: int = 0")
                   .Attr("seed2: int = 0")
                   .SetShapeFn(RandomShape)
                   .Stateful()
                   .Doc(op.doc));
  }
}

Output RandomUniform(const Scope& scope, Output shape, DType dtype, const RandomOptions& options) {
  return AddRandomOp(scope, "RandomUniform", shape, dtype, options);
}
Output RandomUniform(const Scope& scope, const std::vector<int64_t>& shape, DType dtype,
                     const RandomOptions& options) {
  return RandomUniform(scope, IndexConst(scope.WithOpName("Const"), shape), dtype, options);
}

Output RandomNormal(const Scope& scope, Output shape, DType dtype, const RandomOptions& options) {
  return AddRandomOp(scope, "RandomNormal", shape, dtype, options);
}
Output RandomNormal(const Scope& scope, const std::vector<int64_t>& shape, DType dtype,
                    const RandomOptions& options) {
  return RandomNormal(scope, IndexConst(scope.WithOpName("Const"), shape), dtype, options);
}

Output TruncatedNormal(const Scope& scope, Output shape, DType dtype,
                       const RandomOptions& options) {
  return AddRandomOp(scope, "TruncatedNormal", shape, dtype, options);
}
Output TruncatedNormal(const Scope& scope, const std::vector<int64_t>& shape, DType dtype,
                       const RandomOptions& options) {
  return TruncatedNormal(scope, IndexConst(scope.WithOpName("Const"), shape), dtype, options);
}

}  // namespace sluice
