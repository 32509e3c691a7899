#include "runtime/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "runtime/npy.h"

namespace sluice {
namespace {

struct IdxType {
  uint8_t code;
  int file_size;  // bytes per element in the file
  DType dtype;    // dtype of the tensor read
};
// 0x0B is listed for reading only: its i16 values widen to i32.
constexpr IdxType kIdxTypes[] = {
    {0x08, 1, DType::kU8},  {0x09, 1, DType::kI8},  {0x0B, 2, DType::kI32},
    {0x0C, 4, DType::kI32}, {0x0D, 4, DType::kF32}, {0x0E, 8, DType::kF64},
};
constexpr size_t kIdxHeaderSize = 4;

absl::Status Malformed(absl::string_view source, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": not a valid IDX file: ", why));
}

uint32_t ReadBigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// IDX data is big-endian and the machines we run on are little-endian.
void ByteSwapInPlace(void* data, int64_t count, int size) {
  auto* p = static_cast<unsigned char*>(data);
  for (int64_t i = 0; i < count; ++i, p += size) std::reverse(p, p + size);
}

bool IsGzip(absl::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

}  // namespace

absl::StatusOr<Tensor> ParseIdx(absl::string_view bytes, absl::string_view source,
                                int64_t max_bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < kIdxHeaderSize || p[0] != 0 || p[1] != 0) {
    return Malformed(source, "missing the magic number (two zero bytes, a type byte, a rank byte)");
  }
  const IdxType* type = nullptr;
  for (const IdxType& t : kIdxTypes) {
    if (t.code == p[2]) type = &t;
  }
  if (type == nullptr) {
    return Malformed(source,
                     absl::StrCat("unknown type byte 0x", absl::Hex(p[2], absl::kZeroPad2),
                                  "; IDX types are 0x08 (u8), 0x09 (i8), 0x0B (i16), 0x0C (i32), "
                                  "0x0D (f32), 0x0E (f64)"));
  }
  const int rank = p[3];
  const size_t data_start = kIdxHeaderSize + 4 * static_cast<size_t>(rank);
  if (bytes.size() < data_start) {
    return Malformed(source,
                     absl::StrCat("the header declares ", rank, " dims but the file ends after ",
                                  bytes.size(), " bytes"));
  }
  Shape shape;
  for (int i = 0; i < rank; ++i) shape.AddDim(ReadBigEndian32(p + kIdxHeaderSize + 4 * i));
  // The data length is checked before allocating, so that a few bytes of
  // header cannot make the reader reserve all the memory they declare.
  const size_t have = bytes.size() - data_start;
  const auto elements = shape.CheckedNumElements();
  const uint64_t file_size = type->file_size;
  if (elements.ok() &&
      static_cast<uint64_t>(*elements) <= std::numeric_limits<uint64_t>::max() / file_size) {
    const uint64_t want = static_cast<uint64_t>(*elements) * file_size;
    if (have != want) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": the IDX header declares ", shape.ToString(), " elements of type 0x",
          absl::Hex(type->code, absl::kZeroPad2), " (", want,
          " bytes of data) but the file holds ", have,
          have < want ? " (truncated)" : " (trailing bytes)"));
    }
  }
  auto tensor = Tensor::Allocate(type->dtype, shape, max_bytes);
  if (!tensor.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": IDX dims ", shape.ToString(), ": ", tensor.status().message()));
  }
  const int64_t count = tensor->num_elements();
  // Allocate bounded count * 4 or more, so this cannot overflow; it equals
  // `have` (checked above).
  const size_t want = static_cast<size_t>(count) * type->file_size;
  const unsigned char* data = p + data_start;
  if (type->code == 0x0B) {
    int32_t* out = tensor->data<int32_t>();
    for (int64_t i = 0; i < count; ++i) {
      const uint16_t u = static_cast<uint16_t>((data[2 * i] << 8) | data[2 * i + 1]);
      out[i] = static_cast<int16_t>(u);
    }
    return std::move(*tensor);
  }
  if (want > 0) std::memcpy(tensor->raw_data(), data, want);
  if (type->file_size > 1) ByteSwapInPlace(tensor->raw_data(), count, type->file_size);
  return std::move(*tensor);
}

absl::StatusOr<std::string> GunzipBytes(absl::string_view bytes, absl::string_view source,
                                        int64_t max_bytes) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  // 16 + MAX_WBITS: expect a gzip header and trailer (checked by zlib's CRC).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError(absl::StrCat(source, ": cannot initialise zlib"));
  }
  std::string out;
  out.resize(std::min<size_t>(std::max<size_t>(bytes.size() * 4, 1 << 16),
                              static_cast<size_t>(max_bytes) + 1));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  size_t in_left = bytes.size();
  size_t produced = 0;
  absl::Status status;
  while (true) {
    if (produced == out.size()) {
      if (out.size() > static_cast<size_t>(max_bytes)) {
        status = absl::ResourceExhaustedError(
            absl::StrCat(source, ": decompresses to more than ", max_bytes, " bytes"));
        break;
      }
      out.resize(std::min<size_t>(out.size() * 2, static_cast<size_t>(max_bytes) + 1));
    }
    // zlib counts in uInt; feed and drain at most 1 GiB per call.
    const uInt in_chunk = static_cast<uInt>(std::min<size_t>(in_left, 1u << 30));
    const uInt out_chunk = static_cast<uInt>(std::min<size_t>(out.size() - produced, 1u << 30));
    zs.avail_in = in_chunk;
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = out_chunk;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    produced += out_chunk - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // gzip allows concatenated members; anything else after the end is
      // garbage and means the file is not what it claims.
      if (in_left == 0) break;
      if (in_left >= 2 && IsGzip(absl::string_view(reinterpret_cast<const char*>(zs.next_in), 2))) {
        inflateReset(&zs);
        continue;
      }
      status = absl::DataLossError(
          absl::StrCat(source, ": corrupt gzip data: ", in_left, " stray bytes after the stream"));
      break;
    }
    if (rc == Z_BUF_ERROR && in_left == 0 && zs.avail_out > 0) {
      status =
          absl::DataLossError(absl::StrCat(source, ": corrupt gzip data: the stream is truncated"));
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = absl::DataLossError(absl::StrCat(
          source, ": corrupt gzip data: ", zs.msg != nullptr ? zs.msg : "inflate failed"));
      break;
    }
  }
  inflateEnd(&zs);
  if (!status.ok()) return status;
  out.resize(produced);
  return out;
}

absl::StatusOr<std::string> GzipBytes(absl::string_view bytes) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return absl::InternalError("cannot initialise zlib");
  }
  std::string out;
  size_t in_left = bytes.size();
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    const uInt in_chunk = static_cast<uInt>(std::min<size_t>(in_left, 1u << 30));
    zs.avail_in = in_chunk;
    const size_t old_size = out.size();
    const size_t room = 1 << 20;
    out.resize(old_size + room);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
    zs.avail_out = room;
    rc = deflate(&zs, in_left == in_chunk ? Z_FINISH : Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    out.resize(old_size + room - zs.avail_out);
    if (rc == Z_STREAM_ERROR) {
      deflateEnd(&zs);
      return absl::InternalError("gzip compression failed");
    }
  }
  deflateEnd(&zs);
  return out;
}

absl::StatusOr<Tensor> ReadIdx(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  if (IsGzip(bytes)) {
    ASSIGN_OR_RETURN(bytes, GunzipBytes(bytes, path));
  }
  return ParseIdx(bytes, path);
}

absl::StatusOr<std::string> SerializeIdx(const Tensor& tensor) {
  uint8_t code = 0;
  int size = 0;
  for (const IdxType& t : kIdxTypes) {
    // Skip 0x0B: i32 tensors are written as 0x0C so no value is narrowed.
    if (t.dtype == tensor.dtype() && t.code != 0x0B) {
      code = t.code;
      size = t.file_size;
    }
  }
  if (code == 0) {
    return absl::InvalidArgumentError(absl::StrCat("dtype ", DTypeName(tensor.dtype()),
                                                   " has no IDX type (u8, i8, i32, f32, f64 do)"));
  }
  const Shape& shape = tensor.shape();
  if (shape.rank() > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("IDX files hold at most 255 dims; the tensor has ", shape.rank()));
  }
  std::string out = {'\0', '\0', static_cast<char>(code), static_cast<char>(shape.rank())};
  for (int64_t d : shape.dims()) {
    if (d > int64_t{std::numeric_limits<uint32_t>::max()}) {
      return absl::InvalidArgumentError(
          absl::StrCat("IDX dims are u32; the tensor's shape ", shape.ToString(), " has ", d));
    }
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(d >> shift));
  }
  const size_t start = out.size();
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.num_bytes());
  if (size > 1) ByteSwapInPlace(out.data() + start, tensor.num_elements(), size);
  return out;
}

absl::Status WriteIdx(const std::string& path, const Tensor& tensor, bool gzip) {
  auto bytes = SerializeIdx(tensor);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", bytes.status().message()));
  }
  if (gzip) {
    ASSIGN_OR_RETURN(*bytes, GzipBytes(*bytes));
  }
  return WriteStringToFileAtomically(path, *bytes);
}

}  // namespace sluice
