// NumPy .npy files (format versions 1.0 to 3.0), the arrays users already
// have: f32, f64, f16, i8, u8, i32, i64 and bool, C order.
#ifndef SLUICE_RUNTIME_NPY_H_
#define SLUICE_RUNTIME_NPY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"

namespace sluice {

// Parses the bytes of a .npy file; `source` names it in errors. Big-endian
// data is byte-swapped; Fortran order, object arrays and other dtypes are
// errors saying so. `max_bytes` bounds the data a header may declare.
absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes, absl::string_view source,
                                int64_t max_bytes = int64_t{1} << 34);
// Reads and parses `path`; errors start with the path.
absl::StatusOr<Tensor> ReadNpy(const std::string& path);

// The .npy (version 1.0) bytes of `tensor`. bf16 has no NumPy dtype and is an
// error.
absl::StatusOr<std::string> SerializeNpy(const Tensor& tensor);
// Writes `tensor` to `path` through a temporary file and a rename, so a
// failed write never leaves a partial file behind.
absl::Status WriteNpy(const Tensor& tensor, const std::string& path);

// Reads a whole file; NotFound/PermissionDenied/... naming the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);
// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
absl::Status WriteStringToFileAtomically(const std::string& path, absl::string_view bytes);

}  // namespace sluice

#endif  // SLUICE_RUNTIME_NPY_H_
