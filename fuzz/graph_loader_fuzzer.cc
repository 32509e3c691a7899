// The graph loader on arbitrary bytes, read both as a binary .pb and as a
// text .pbtxt GraphDef: parsing, validation (names, inputs, cycles, attrs,
// tensors) and shape inference of every node. A graph that loads must also
// save and load again to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "graph/graph_io.h"

namespace sluice {
namespace {

void CheckRoundTrip(const Graph& graph, GraphFileFormat format) {
  auto bytes = SerializeGraph(graph, format);
  if (!bytes.ok()) fuzz::PropertyFailed("a loaded graph does not save", bytes.status().message());
  auto again = ParseGraph(*bytes, format);
  if (!again.ok()) {
    fuzz::PropertyFailed("a saved graph does not load", again.status().message());
  }
  auto bytes_again = SerializeGraph(**again, format);
  if (!bytes_again.ok() || *bytes_again != *bytes) {
    fuzz::PropertyFailed("saving a reloaded graph gives other bytes", *bytes);
  }
}

void LoadAs(absl::string_view bytes, GraphFileFormat format) {
  auto graph = ParseGraph(bytes, format);
  if (!graph.ok()) {
    if (graph.status().message().empty()) fuzz::PropertyFailed("an error without a message", "");
    return;
  }
  CheckRoundTrip(**graph, GraphFileFormat::kBinary);
  CheckRoundTrip(**graph, GraphFileFormat::kText);
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  sluice::LoadAs(bytes, sluice::GraphFileFormat::kBinary);
  sluice::LoadAs(bytes, sluice::GraphFileFormat::kText);
  return 0;
}
