#include "runtime/npy.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct NpyType {
  const char* code;  // without the byte-order character
  DType dtype;
};
constexpr NpyType kTypes[] = {
    {"f4", DType::kF32}, {"f8", DType::kF64}, {"f2", DType::kF16}, {"i1", DType::kI8},
    {"u1", DType::kU8},  {"i4", DType::kI32}, {"i8", DType::kI64}, {"b1", DType::kBool},
};

absl::Status Malformed(absl::string_view source, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": not a valid .npy file: ", why));
}

// Finds `'key':` in the header dict and returns the text of its value, up to
// the next top-level comma or the closing brace.
absl::StatusOr<std::string> DictValue(absl::string_view header, absl::string_view key,
                                      absl::string_view source) {
  const std::string quoted = absl::StrCat("'", key, "'");
  size_t pos = header.find(quoted);
  if (pos == absl::string_view::npos) {
    return Malformed(source, absl::StrCat("header has no ", quoted));
  }
  pos = header.find(':', pos + quoted.size());
  if (pos == absl::string_view::npos) return Malformed(source, "header dict has no ':'");
  ++pos;
  int depth = 0;
  size_t end = pos;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if ((c == ',' || c == '}') && depth == 0) break;
  }
  return std::string(absl::StripAsciiWhitespace(header.substr(pos, end - pos)));
}

void ByteSwap(void* data, int64_t count, int size) {
  auto* p = static_cast<unsigned char*>(data);
  for (int64_t i = 0; i < count; ++i, p += size) {
    for (int a = 0, b = size - 1; a < b; ++a, --b) std::swap(p[a], p[b]);
  }
}

}  // namespace

absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes, absl::string_view source,
                                int64_t max_bytes) {
  if (bytes.size() < kMagicSize + 4 || bytes.substr(0, kMagicSize) != kMagic) {
    return Malformed(source, "missing the \\x93NUMPY magic");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len;
  size_t header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) |
                 (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return Malformed(source, "truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) {
      header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    }
    header_start = 12;
  } else {
    return Malformed(source, absl::StrCat("unsupported format version ", major));
  }
  if (header_start + header_len > bytes.size()) return Malformed(source, "truncated header");
  const absl::string_view header = bytes.substr(header_start, header_len);

  ASSIGN_OR_RETURN(std::string descr, DictValue(header, "descr", source));
  ASSIGN_OR_RETURN(std::string fortran, DictValue(header, "fortran_order", source));
  ASSIGN_OR_RETURN(std::string shape_text, DictValue(header, "shape", source));

  if (descr.size() < 4 || (descr.front() != '\'' && descr.front() != '"')) {
    return Malformed(source, absl::StrCat("bad descr ", descr));
  }
  descr = descr.substr(1, descr.size() - 2);
  const char order = descr[0];
  const std::string code = descr.substr(1);
  DType dtype = DType::kInvalid;
  for (const NpyType& t : kTypes) {
    if (code == t.code) dtype = t.dtype;
  }
  if (dtype == DType::kInvalid || (order != '<' && order != '>' && order != '|' && order != '=')) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": unsupported .npy dtype '", descr,
        "'; Sluice reads f4, f8, f2, i1, u1, i4, i8 and b1 (float32, float64, float16, int8, "
        "uint8, int32, int64, bool)"));
  }
  if (fortran == "True") {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": the array is in Fortran order; save it in C order "
                "(numpy.ascontiguousarray) first"));
  }
  if (fortran != "False") return Malformed(source, absl::StrCat("bad fortran_order ", fortran));

  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') {
    return Malformed(source, absl::StrCat("bad shape ", shape_text));
  }
  Shape shape;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(shape_text).substr(1, shape_text.size() - 2), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;  // "(3,)" has a trailing comma
    int64_t dim;
    if (!absl::SimpleAtoi(part, &dim) || dim < 0) {
      return Malformed(source, absl::StrCat("bad dimension '", part, "' in shape ", shape_text));
    }
    shape.AddDim(dim);
  }
  // The data length is checked before allocating, so that a few bytes of
  // header cannot make the reader reserve all the memory they declare.
  const size_t data_start = header_start + header_len;
  const size_t have = bytes.size() - data_start;
  const auto elements = shape.CheckedNumElements();
  const uint64_t element_size = DTypeSize(dtype);
  if (elements.ok() &&
      static_cast<uint64_t>(*elements) <= std::numeric_limits<uint64_t>::max() / element_size) {
    const uint64_t declared = static_cast<uint64_t>(*elements) * element_size;
    if (declared != have) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": the header declares ", DTypeName(dtype), shape.ToString(), " (", declared,
          " bytes of data) but the file holds ", have));
    }
  }
  auto tensor = Tensor::Allocate(dtype, shape, max_bytes);
  if (!tensor.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", tensor.status().message()));
  const size_t want = tensor->num_bytes();
  std::memcpy(tensor->raw_data(), bytes.data() + data_start, want);
  if (order == '>' && DTypeSize(dtype) > 1) {
    ByteSwap(tensor->raw_data(), tensor->num_elements(), DTypeSize(dtype));
  }
  if (dtype == DType::kBool) {
    // NumPy bools are bytes 0/1; anything else would be an invalid C++ bool.
    auto* p = static_cast<unsigned char*>(tensor->raw_data());
    for (int64_t i = 0; i < tensor->num_elements(); ++i) {
      if (p[i] > 1) return Malformed(source, absl::StrCat("bool element ", i, " is ", int{p[i]}));
    }
  }
  return std::move(*tensor);
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot open: ", std::strerror(err)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read failed"));
  return contents.str();
}

absl::StatusOr<Tensor> ReadNpy(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  return ParseNpy(bytes, path);
}

absl::StatusOr<std::string> SerializeNpy(const Tensor& tensor) {
  const char* code = nullptr;
  for (const NpyType& t : kTypes) {
    if (t.dtype == tensor.dtype()) code = t.code;
  }
  if (code == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("dtype ", DTypeName(tensor.dtype()), " has no NumPy equivalent"));
  }
  const char order = DTypeSize(tensor.dtype()) == 1 ? '|' : '<';
  std::string shape = "(";
  for (int64_t d : tensor.shape().dims()) absl::StrAppend(&shape, d, ", ");
  if (tensor.shape().rank() > 1) shape.resize(shape.size() - 2);
  if (tensor.shape().rank() == 1) shape.resize(shape.size() - 1);  // "(3,)"
  absl::StrAppend(&shape, ")");
  std::string header =
      absl::StrCat("{'descr': '", std::string(1, order), code, "', 'fortran_order': False, 'shape': ",
                   shape, ", }");
  // Format 1.0 stores the header length in 2 bytes; a longer header (a shape
  // of thousands of dimensions) needs format 2.0 and its 4-byte length.
  const bool version2 = header.size() + 64 > 0xffff;
  const size_t length_bytes = version2 ? 4 : 2;
  // Pad with spaces so the data starts on a 64-byte boundary, ending in \n.
  const size_t unpadded = kMagicSize + 2 + length_bytes + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out(kMagic, kMagicSize);
  out.push_back(version2 ? '\x02' : '\x01');
  out.push_back('\x00');
  for (size_t i = 0; i < length_bytes; ++i) {
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  }
  out += header;
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.num_bytes());
  return out;
}

absl::Status WriteStringToFileAtomically(const std::string& path, absl::string_view bytes) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot write: ", std::strerror(errno)));
  }
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::DataLossError(absl::StrCat(path, ": write failed: ", std::strerror(err)));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return absl::DataLossError(absl::StrCat(path, ": write failed: ", std::strerror(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot write: ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status WriteNpy(const Tensor& tensor, const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, SerializeNpy(tensor));
  return WriteStringToFileAtomically(path, bytes);
}

}  // namespace sluice
