// Checkpoints: the values of a session's variables in one file, with a header
// message, 64-byte aligned raw data and a CRC32C per tensor (layout in
// proto/checkpoint.proto and docs/file_formats.md). Files are written to a
// temporary file in the same directory, fsync'd, renamed and the directory
// fsync'd, so a crash never leaves a half-written checkpoint under the final
// name; temporary files left by a crashed save are removed by the next save
// of the same path.
#ifndef SLUICE_RUNTIME_CHECKPOINT_H_
#define SLUICE_RUNTIME_CHECKPOINT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/dtype.h"
#include "graph/graph.h"
#include "graph/shape.h"
#include "kernels/variable_store.h"

namespace sluice {

// The current checkpoint format version; newer files are rejected.
inline constexpr uint32_t kCheckpointFormatVersion = 1;

// One tensor of a checkpoint, as ListCheckpoint reports it.
struct CheckpointEntry {
  std::string name;
  DType dtype = DType::kInvalid;
  Shape shape;
};

// Writes every variable of `store` to `path`, sorted by name, with each value's
// current shape. A variable the store knows but that holds no value yet is an
// error naming it (saving without it would give a checkpoint that later fails
// to restore, far from the cause); so is, when `graph` is given, a Variable
// node of `graph` that the store has no value for. Nothing is written then.
// Errors for the destination (a missing directory, no permission) name `path`.
// Values are read without locks: no Run that updates the variables may overlap.
//
// The file is written as `<path>.tmp.<pid>.<n>`, fsync'd, renamed over `path`
// and the directory fsync'd: after a crash at any moment `path` holds either
// the previous checkpoint or the complete new one. Before writing, temporary
// files of `path` that no running save holds (left by a killed process) are
// removed; those of saves still running, in this or another process, are kept.
absl::Status SaveCheckpoint(const VariableStore& store, const std::string& path,
                            const Graph* graph = nullptr);

// Sets every Variable node of `graph` (op "Variable") in `store` to its value
// in the checkpoint at `path`, so it counts as initialised. Each must be in the
// file with the variable's dtype and a shape compatible with its `shape` attr;
// tensors in the file that `graph` does not declare are ignored (as in
// TensorFlow). The whole file is checked first — magic, version, header CRC,
// every offset and length against the file size, and the data CRC of every
// restored tensor — and on any error (naming the file and, where one is at
// fault, the variable with both dtypes/shapes) `store` is left untouched.
// No Run may overlap the restore.
absl::Status RestoreCheckpoint(const std::string& path, const Graph& graph, VariableStore& store);

// Whether a checkpoint could be saved at `path` now: its directory exists
// and is writable, and `path` is not a directory. The error is the one a
// save would fail with, so trainers can report it before any work.
absl::Status CheckCheckpointDestination(const std::string& path);

// The tensors of the checkpoint at `path` (name, dtype, shape) in file order,
// after checking the header as RestoreCheckpoint does; data is not read.
absl::StatusOr<std::vector<CheckpointEntry>> ListCheckpoint(const std::string& path);

// The steps of SaveCheckpoint at which a test may stop the process, in order.
enum class CheckpointSavePoint {
  // The temporary file holds the prefix, the header and about half the data.
  kDataPartlyWritten,
  // All data is written and fsync'd; the temporary file is not yet renamed.
  kDataSynced,
  // The temporary file has been renamed over the final name; the directory
  // is not yet fsync'd.
  kRenamed,
};

// For tests only: every later SaveCheckpoint in this process calls `hook` once
// at each CheckpointSavePoint, on the saving thread (nullptr, the default,
// calls nothing). A test helper that is killed from inside the hook shows what
// a crash at that point leaves on disk. Must not be changed while a save runs.
using CheckpointSaveHook = void (*)(CheckpointSavePoint point);
void SetCheckpointSaveHookForTesting(CheckpointSaveHook hook);

}  // namespace sluice

#endif  // SLUICE_RUNTIME_CHECKPOINT_H_
