#include "kernels/matmul_params.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace sluice {

absl::StatusOr<MatMulShape> PlanMatMulShape(const Shape& a, const Shape& b, bool transpose_a,
                                            bool transpose_b, bool batched) {
  const int ra = a.rank(), rb = b.rank();
  if (!batched && (ra != 2 || rb != 2)) {
    return absl::InvalidArgumentError(
        absl::StrCat("MatMul needs 2-D inputs, got ", a.ToString(), " and ", b.ToString()));
  }
  if (ra < 2 || rb < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("inputs must have rank >= 2, got ", a.ToString(), " and ", b.ToString()));
  }
  MatMulShape p;
  p.transpose_a = transpose_a;
  p.transpose_b = transpose_b;
  p.m = transpose_a ? a.dim(ra - 1) : a.dim(ra - 2);
  p.k = transpose_a ? a.dim(ra - 2) : a.dim(ra - 1);
  const int64_t kb = transpose_b ? b.dim(rb - 1) : b.dim(rb - 2);
  p.n = transpose_b ? b.dim(rb - 2) : b.dim(rb - 1);
  if (p.k != kb) {
    return absl::InvalidArgumentError(
        absl::StrCat("inner dimensions differ: ", a.ToString(), " vs ", b.ToString(),
                     transpose_a || transpose_b ? " (transposed)" : ""));
  }
  const int batch_rank = std::max(ra, rb) - 2;
  Shape::Dims out_dims;
  int last_pattern = -1;
  for (int i = 0; i < batch_rank; ++i) {
    const int ia = i - (batch_rank - (ra - 2)), ib = i - (batch_rank - (rb - 2));
    const int64_t da = ia >= 0 ? a.dim(ia) : 1, db = ib >= 0 ? b.dim(ib) : 1;
    if (da != db && da != 1 && db != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch dimensions do not broadcast: ", a.ToString(), " vs ", b.ToString()));
    }
    const int64_t d = da == 1 ? db : da;
    out_dims.push_back(d);
    p.batch_count *= d;
    if (d == 1) continue;
    const int pattern = (da != 1 ? 1 : 0) | (db != 1 ? 2 : 0);
    if (pattern == last_pattern) {
      p.batch.back() *= d;
      p.a_batch.back() *= da;
      p.b_batch.back() *= db;
    } else {
      p.batch.push_back(d);
      p.a_batch.push_back(da);
      p.b_batch.push_back(db);
      last_pattern = pattern;
    }
  }
  out_dims.push_back(p.m);
  out_dims.push_back(p.n);
  p.out_shape = Shape(absl::MakeConstSpan(out_dims));
  return p;
}

absl::StatusOr<MatMulShape> MatMulShapeOf(const KernelInit& init, bool batched) {
  const char* ta = batched ? "adj_x" : "transpose_a";
  const char* tb = batched ? "adj_y" : "transpose_b";
  ASSIGN_OR_RETURN(MatMulShape p, PlanMatMulShape(init.input_shape(0), init.input_shape(1),
                                                  init.attr(ta).b(), init.attr(tb).b(), batched));
  if (p.out_shape != init.output_shape(0)) {
    return absl::InternalError(absl::StrCat("output shape ", init.output_shape(0).ToString(),
                                            " differs from the product's ",
                                            p.out_shape.ToString()));
  }
  return p;
}

void MatMulBatchOffsets(const MatMulShape& p, std::vector<int64_t>* a_offsets,
                        std::vector<int64_t>* b_offsets) {
  const int nb = static_cast<int>(p.batch.size());
  std::vector<int64_t> a_stride(nb), b_stride(nb), index(nb, 0);
  int64_t sa = p.m * p.k, sb = p.k * p.n;
  for (int i = nb - 1; i >= 0; --i) {
    a_stride[i] = p.a_batch[i] == 1 ? 0 : sa;
    b_stride[i] = p.b_batch[i] == 1 ? 0 : sb;
    sa *= p.a_batch[i];
    sb *= p.b_batch[i];
  }
  a_offsets->clear();
  b_offsets->clear();
  for (int64_t t = 0; t < p.batch_count; ++t) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < nb; ++i) {
      oa += index[i] * a_stride[i];
      ob += index[i] * b_stride[i];
    }
    a_offsets->push_back(oa);
    b_offsets->push_back(ob);
    for (int i = nb - 1; i >= 0; --i) {
      if (++index[i] < p.batch[i]) break;
      index[i] = 0;
    }
  }
}

}  // namespace sluice
