// The checkpoint reader on arbitrary bytes: ListCheckpoint, and
// RestoreCheckpoint into a fresh store for a fixed graph whose variables
// match the seed checkpoint (fuzz/corpus/checkpoint_fuzzer). CRCs would stop
// nearly every mutation at the first check, so before writing the file the
// target repairs them: the header CRC always, and each tensor's data CRC
// when the header still parses and re-serialises to the same length. The
// CRC checks themselves are covered by tests/checkpoint_test.cc.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "graph/ops/state.h"
#include "graph/scope.h"
#include "kernels/variable_store.h"
#include "proto/checkpoint.pb.h"
#include "runtime/checkpoint.h"
#include "runtime/crc32c.h"

namespace sluice {
namespace {

constexpr size_t kPrefixSize = 8 + 8 + 4;

uint64_t LoadU64(const std::string& s, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}

void StoreU32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

// The input with its CRCs made consistent where the layout allows.
std::string RepairCrcs(std::string bytes) {
  if (bytes.size() < kPrefixSize) return bytes;
  const uint64_t header_size = LoadU64(bytes, 8);
  if (header_size > bytes.size() - kPrefixSize) return bytes;
  proto::CheckpointHeader header;
  if (header.ParseFromArray(bytes.data() + kPrefixSize, static_cast<int>(header_size))) {
    for (proto::CheckpointTensor& t : *header.mutable_tensor()) {
      if (t.offset() <= bytes.size() && t.length() <= bytes.size() - t.offset()) {
        t.set_crc32c(Crc32c(absl::string_view(bytes).substr(t.offset(), t.length())));
      }
    }
    std::string repaired;
    if (header.SerializeToString(&repaired) && repaired.size() == header_size) {
      bytes.replace(kPrefixSize, header_size, repaired);
    }
  }
  StoreU32(bytes, 16, Crc32c(absl::string_view(bytes).substr(kPrefixSize, header_size)));
  return bytes;
}

// Variables named and typed as in the seed checkpoint.
std::unique_ptr<Graph> BuildGraph() {
  Scope root = Scope::NewRootScope();
  struct Spec {
    const char* name;
    DType dtype;
    Shape shape;
  };
  const Spec specs[] = {
      {"w", DType::kF32, Shape{2, 3}}, {"b", DType::kF32, Shape{3}},
      {"step", DType::kI64, Shape{}},  {"flag", DType::kBool, Shape{4}},
      {"h", DType::kF16, Shape{2}},    {"bf", DType::kBF16, Shape{3}},
      {"d", DType::kF64, Shape{1, 1}}, {"u", DType::kU8, Shape{5}},
  };
  for (const Spec& s : specs) {
    Variable(root.WithOpName(s.name), s.shape, s.dtype,
             Const(root, Tensor::Zeros(s.dtype, s.shape)));
  }
  if (!root.ok()) fuzz::PropertyFailed("cannot build the graph", root.status().message());
  return root.graph()->Clone();
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  static const std::unique_ptr<Graph> graph = BuildGraph();
  static const std::string path = fuzz::ScratchPath("checkpoint.ckpt");
  fuzz::WriteScratchFile(path, RepairCrcs(std::string(reinterpret_cast<const char*>(data), size)));

  auto entries = ListCheckpoint(path);
  if (!entries.ok() && entries.status().message().empty()) {
    fuzz::PropertyFailed("an error without a message", "");
  }
  VariableStore store;
  absl::Status restored = RestoreCheckpoint(path, *graph, store);
  if (restored.ok()) {
    if (!entries.ok())
      fuzz::PropertyFailed("restored a file ListCheckpoint rejects", entries.status().message());
    for (const Node* node : graph->nodes()) {
      if (node->op() != "Variable") continue;
      const VariableSlot* slot = store.Find(node->name());
      if (slot == nullptr || !slot->initialized())
        fuzz::PropertyFailed("not restored", node->name());
      const Tensor value = slot->value();
      if (value.dtype() != node->attr("dtype").dtype() ||
          !value.shape().IsCompatibleWith(node->attr("shape").shape())) {
        fuzz::PropertyFailed("restored a value that does not fit", node->name());
      }
    }
  } else if (restored.message().empty()) {
    fuzz::PropertyFailed("an error without a message", "");
  }
  return 0;
}
