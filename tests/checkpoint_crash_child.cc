// The process checkpoint_crash_test kills in the middle of a save.
//
//   checkpoint_crash_child <source.ckpt> <dest.ckpt> <stop>
//
// Restores every tensor of <source.ckpt> into a session and saves the session
// to <dest.ckpt> with a save hook installed. At each step of the save (see
// CheckpointSavePoint) it writes one byte to stdout: 'P' (data partly
// written), 'S' (data synced, not renamed) or 'R' (renamed). At the step
// named by <stop> ("partial", "synced" or "renamed"; "none" stops nowhere) it
// then waits for one byte on stdin before going on, so the test can kill it
// there or let it finish. Exit status: 0 saved, 1 a Status error (printed on
// stderr), 2 bad usage, 3 stdin closed while stopped.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "graph/ops/state.h"
#include "runtime/checkpoint.h"
#include "runtime/session.h"

namespace sluice {
namespace {

bool stop_anywhere = false;
CheckpointSavePoint stop_at = CheckpointSavePoint::kDataPartlyWritten;

void OnSavePoint(CheckpointSavePoint point) {
  const char byte = "PSR"[static_cast<int>(point)];
  if (::write(STDOUT_FILENO, &byte, 1) != 1) ::_exit(3);
  if (!stop_anywhere || point != stop_at) return;
  char go;
  if (::read(STDIN_FILENO, &go, 1) != 1) ::_exit(3);
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "checkpoint_crash_child: %s\n", status.ToString().c_str());
  return 1;
}

int Main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <source.ckpt> <dest.ckpt> none|partial|synced|renamed\n",
                 argv[0]);
    return 2;
  }
  const std::string stop = argv[3];
  if (stop == "partial") {
    stop_at = CheckpointSavePoint::kDataPartlyWritten;
  } else if (stop == "synced") {
    stop_at = CheckpointSavePoint::kDataSynced;
  } else if (stop == "renamed") {
    stop_at = CheckpointSavePoint::kRenamed;
  } else if (stop != "none") {
    std::fprintf(stderr, "checkpoint_crash_child: unknown stop point '%s'\n", argv[3]);
    return 2;
  }
  stop_anywhere = stop != "none";

  // A graph declaring each tensor of the source as a Variable; the
  // initializers are never run, as the values come from the restore.
  auto entries = ListCheckpoint(argv[1]);
  if (!entries.ok()) return Fail(entries.status());
  Scope root = Scope::NewRootScope();
  for (const CheckpointEntry& e : *entries) {
    Variable(root.WithOpName(e.name), e.shape, e.dtype,
             Placeholder(root.WithOpName(e.name + "/initial_value"), e.dtype, e.shape));
  }
  if (!root.ok()) return Fail(root.status());
  auto session = Session::Create(*root.graph());
  if (!session.ok()) return Fail(session.status());
  if (absl::Status s = (*session)->RestoreCheckpoint(argv[1]); !s.ok()) return Fail(s);

  SetCheckpointSaveHookForTesting(&OnSavePoint);
  if (absl::Status s = (*session)->SaveCheckpoint(argv[2]); !s.ok()) return Fail(s);
  return 0;
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) { return sluice::Main(argc, argv); }
