// The IDX reader on arbitrary bytes: the magic, type and rank bytes, the
// big-endian dims and the data length; inputs starting with the gzip magic
// go through the gunzip step first, as ReadIdx does. A file that parses must
// serialise and parse again to the same tensor.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "runtime/idx.h"

namespace {

void ParseAndCheck(absl::string_view bytes) {
  using namespace sluice;
  auto tensor = ParseIdx(bytes, "fuzz.idx");
  if (!tensor.ok()) {
    if (tensor.status().message().empty()) fuzz::PropertyFailed("an error without a message", "");
    return;
  }
  auto written = SerializeIdx(*tensor);
  if (!written.ok())
    fuzz::PropertyFailed("a parsed file does not serialise", written.status().message());
  auto again = ParseIdx(*written, "again.idx");
  if (!again.ok())
    fuzz::PropertyFailed("a serialised file does not parse", again.status().message());
  if (!again->BitwiseEquals(*tensor)) {
    fuzz::PropertyFailed("a tensor changes in a round trip", tensor->DebugString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
    auto raw = sluice::GunzipBytes(bytes, "fuzz.idx.gz");
    if (raw.ok()) ParseAndCheck(*raw);
    return 0;
  }
  ParseAndCheck(bytes);
  return 0;
}
