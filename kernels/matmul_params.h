// The shape of a (batched) matrix product, as every device's MatMul and
// BatchMatMul kernels plan it: out[t] = op(a[t]) x op(b[t]), the batch dims
// broadcast (right-aligned) and collapsed: size-1 output dims dropped and
// neighbours that broadcast the same way merged.
#ifndef SLUICE_KERNELS_MATMUL_PARAMS_H_
#define SLUICE_KERNELS_MATMUL_PARAMS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/shape.h"
#include "kernels/kernel.h"

namespace sluice {

struct MatMulShape {
  int64_t m = 0, k = 0, n = 0;
  bool transpose_a = false, transpose_b = false;
  std::vector<int64_t> batch;             // collapsed output batch dims
  std::vector<int64_t> a_batch, b_batch;  // the same dims in a and b (1: broadcast)
  int64_t batch_count = 1;
  Shape out_shape;

  int64_t macs() const { return batch_count * m * n * k; }
  bool empty_output() const { return batch_count == 0 || m == 0 || n == 0; }
};

// The product of `a` and `b` (transposed as asked). Without `batched`
// (MatMul) both must be 2-D; with it (BatchMatMul) rank >= 2 and batch dims
// that broadcast. Errors name both shapes.
absl::StatusOr<MatMulShape> PlanMatMulShape(const Shape& a, const Shape& b, bool transpose_a,
                                            bool transpose_b, bool batched);

// The product of init's node: its input shapes, transpose_a/transpose_b
// (MatMul) or adj_x/adj_y (BatchMatMul when `batched`). Internal when the
// node's output shape differs from the product's.
absl::StatusOr<MatMulShape> MatMulShapeOf(const KernelInit& init, bool batched);

// Element offsets of every batch's a and b matrices, in output order
// (batch_count entries each; 0 for a broadcast operand's repeats).
void MatMulBatchOffsets(const MatMulShape& p, std::vector<int64_t>* a_offsets,
                        std::vector<int64_t>* b_offsets);

}  // namespace sluice

#endif  // SLUICE_KERNELS_MATMUL_PARAMS_H_
