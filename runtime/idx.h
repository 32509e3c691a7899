// IDX files, the format of MNIST and Fashion-MNIST: two zero bytes, a type
// byte, a rank byte, big-endian u32 dims, then big-endian data in C order.
// Files may be gzip-compressed as they are distributed (`*-ubyte.gz`).
#ifndef SLUICE_RUNTIME_IDX_H_
#define SLUICE_RUNTIME_IDX_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"

namespace sluice {

// Parses the uncompressed bytes of an IDX file; `source` names it in errors.
// Type bytes map to dtypes as 0x08 -> u8, 0x09 -> i8, 0x0B (i16) -> i32
// (Sluice has no 16-bit integer dtype; values are sign-extended), 0x0C -> i32,
// 0x0D -> f32, 0x0E -> f64. The data must be exactly as long as the dims say.
// `max_bytes` bounds the tensor the dims may declare.
absl::StatusOr<Tensor> ParseIdx(absl::string_view bytes, absl::string_view source,
                                int64_t max_bytes = int64_t{1} << 34);

// Reads `path`, raw or gzip-compressed (told apart by the gzip magic 1f 8b,
// not by the file name), and parses it. Errors start with the path: NotFound
// for a missing file, DataLoss for a corrupt or truncated gzip stream,
// InvalidArgument for a malformed IDX file.
absl::StatusOr<Tensor> ReadIdx(const std::string& path);

// The IDX bytes of `tensor`: u8, i8, i32, f32 and f64 have IDX types; other
// dtypes, and dims above 2^32-1 or rank above 255, are errors.
absl::StatusOr<std::string> SerializeIdx(const Tensor& tensor);

// Writes `tensor` to `path` as IDX, gzip-compressed when `gzip` is set,
// through a temporary file and a rename.
absl::Status WriteIdx(const std::string& path, const Tensor& tensor, bool gzip);

// Decompresses a gzip stream (one or more concatenated members); `source`
// names it in errors. The result may not exceed `max_bytes`.
absl::StatusOr<std::string> GunzipBytes(absl::string_view bytes, absl::string_view source,
                                        int64_t max_bytes = int64_t{1} << 34);
// Compresses `bytes` as one gzip member.
absl::StatusOr<std::string> GzipBytes(absl::string_view bytes);

}  // namespace sluice

#endif  // SLUICE_RUNTIME_IDX_H_
