// The .npy reader on arbitrary bytes: magic, version, header length, the
// header dict (descr, fortran_order, shape), byte order and the data length.
// An array that parses must serialise and parse again to the same tensor.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "runtime/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto tensor = ParseNpy(bytes, "fuzz.npy");
  if (!tensor.ok()) {
    if (tensor.status().message().empty()) fuzz::PropertyFailed("an error without a message", "");
    return 0;
  }
  auto written = SerializeNpy(*tensor);
  if (!written.ok())
    fuzz::PropertyFailed("a parsed array does not serialise", written.status().message());
  auto again = ParseNpy(*written, "again.npy");
  if (!again.ok())
    fuzz::PropertyFailed("a serialised array does not parse", again.status().message());
  if (!again->BitwiseEquals(*tensor)) {
    fuzz::PropertyFailed("an array changes in a round trip", tensor->DebugString());
  }
  return 0;
}
