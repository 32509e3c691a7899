// Checkpoints that survive a crash: a helper process (checkpoint_crash_child)
// saves a checkpoint of tens of MB and is killed with SIGKILL at each step of
// the save; the checkpoint on disk must then be the previous one or the
// complete new one, bit for bit, and temporary files must not pile up.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/ops/state.h"
#include "runtime/checkpoint.h"
#include "runtime/npy.h"
#include "runtime/session.h"
#include "tests/temp_dir.h"

extern char** environ;

namespace sluice {
namespace {

using testing::TempDir;

// About 24 MiB in all, so that a save takes measurable time and its data
// spans many pages.
struct VarSpec {
  std::string name;
  DType dtype;
  Shape shape;
};
const std::vector<VarSpec> kVars = {
    {"dense/kernel", DType::kF32, Shape{1024, 3072}},  // 12 MiB
    {"dense/bias", DType::kF32, Shape{3072}},
    {"embedding/table", DType::kI32, Shape{2048, 1024}},  // 8 MiB of raw bit patterns
    {"optimizer/moment", DType::kF64, Shape{512, 1024}},  // 4 MiB
    {"global_step", DType::kI64, Shape{}},
};

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Values that differ for every seed, variable and element.
std::vector<Tensor> MakeValues(int seed) {
  std::vector<Tensor> values;
  for (size_t v = 0; v < kVars.size(); ++v) {
    Tensor t(kVars[v].dtype, kVars[v].shape);
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      const uint64_t h = Mix((uint64_t(seed) << 56) ^ (uint64_t(v) << 48) ^ uint64_t(i));
      switch (t.dtype()) {
        case DType::kF32:
          t.data<float>()[i] = static_cast<float>(static_cast<int32_t>(h)) * 0x1p-20f;
          break;
        case DType::kF64:
          t.data<double>()[i] = static_cast<double>(static_cast<int64_t>(h)) * 0x1p-40;
          break;
        case DType::kI32:
          t.data<int32_t>()[i] = static_cast<int32_t>(h >> 32);
          break;
        case DType::kI64:
          t.data<int64_t>()[i] = seed * 1000 + 7;
          break;
        default:
          FAIL("unexpected dtype");
      }
    }
    values.push_back(std::move(t));
  }
  return values;
}

std::vector<std::string> Names() {
  std::vector<std::string> names;
  for (const VarSpec& v : kVars) names.push_back(v.name);
  return names;
}

// Variables initialised from placeholders "<name>/initial_value", and "init".
std::unique_ptr<Graph> BuildGraph() {
  Scope root = Scope::NewRootScope();
  for (const VarSpec& v : kVars) {
    Variable(root.WithOpName(v.name), v.shape, v.dtype,
             Placeholder(root.WithOpName(v.name + "/initial_value"), v.dtype, v.shape));
  }
  InitAllVariables(root.WithOpName("init"));
  REQUIRE(root.ok());
  return root.graph()->Clone();
}

std::unique_ptr<Session> MakeSession(const Graph& graph) {
  auto session = Session::Create(graph);
  REQUIRE(session.ok());
  return std::move(*session);
}

// Saves the values of `seed` to `path` in this process.
void SaveSeed(const Graph& graph, int seed, const std::string& path) {
  auto session = MakeSession(graph);
  const std::vector<Tensor> values = MakeValues(seed);
  FeedList feeds;
  for (size_t v = 0; v < kVars.size(); ++v) {
    feeds.emplace_back(kVars[v].name + "/initial_value", values[v]);
  }
  REQUIRE(session->Run(feeds, {}, {"init"}).ok());
  const absl::Status saved = session->SaveCheckpoint(path);
  INFO(saved.ToString());
  REQUIRE(saved.ok());
}

// Restores `path` into a fresh session and compares every variable's bytes
// with the values of `seed`.
void CheckHoldsSeed(const Graph& graph, const std::string& path, int seed) {
  auto session = MakeSession(graph);
  const absl::Status restored = session->RestoreCheckpoint(path);
  INFO("restoring " << path << ": " << restored.ToString());
  REQUIRE(restored.ok());
  auto fetched = session->Run({}, Names());
  REQUIRE(fetched.ok());
  const std::vector<Tensor> expected = MakeValues(seed);
  for (size_t v = 0; v < kVars.size(); ++v) {
    INFO("variable " << kVars[v].name << " against seed " << seed);
    CHECK((*fetched)[v].BitwiseEquals(expected[v]));
  }
}

std::string ReadAll(const std::string& path) {
  auto bytes = ReadFileToString(path);
  INFO(path << ": " << bytes.status().ToString());
  REQUIRE(bytes.ok());
  return *bytes;
}

// checkpoint_crash_child, saving `source` to `dest` and stopping at `stop`
// (see its header), with pipes to its stdin and from its stdout. Killed and
// reaped on destruction if still there, so a failing test leaves no process.
class SavingChild {
 public:
  SavingChild(const std::string& source, const std::string& dest, const std::string& stop) {
    int in[2], out[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::vector<std::string> args = {CHECKPOINT_CRASH_CHILD, source, dest, stop};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
    INFO("spawning " << CHECKPOINT_CRASH_CHILD);
    REQUIRE(spawned == 0);
    pid_ = spawned_pid_ = pid;
  }
  ~SavingChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
    ::close(to_child_);
    ::close(from_child_);
  }
  SavingChild(const SavingChild&) = delete;
  SavingChild& operator=(const SavingChild&) = delete;

  // The child's pid, also after it was reaped.
  pid_t pid() const { return spawned_pid_; }

  // The step bytes the child writes until `last` (included) or until its
  // stdout closes; fails the test if nothing comes for two minutes.
  std::string ReadSteps(char last) {
    std::string steps;
    while (steps.empty() || steps.back() != last) {
      pollfd fd = {from_child_, POLLIN, 0};
      const int ready = ::poll(&fd, 1, 120'000);
      if (ready < 0 && errno == EINTR) continue;
      REQUIRE(ready == 1);
      char byte;
      const ssize_t n = ::read(from_child_, &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      steps.push_back(byte);
    }
    return steps;
  }
  // Lets a stopped child go on.
  void Release() {
    const char go = 'g';
    REQUIRE(::write(to_child_, &go, 1) == 1);
  }
  // Waits for the child to end; returns its wait status.
  int Wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) REQUIRE(errno == EINTR);
    pid_ = -1;
    return status;
  }
  // SIGKILLs the child and checks that the signal is what ended it.
  void Kill() {
    REQUIRE(::kill(pid_, SIGKILL) == 0);
    const int status = Wait();
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
  }

 private:
  pid_t pid_ = -1;  // -1 once reaped
  pid_t spawned_pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

// Whether two files' bytes are equal, without printing megabytes on failure.
bool SameBytes(const std::string& a, const std::string& b) { return a == b; }

std::string TempName(const std::string& base, pid_t pid) {
  return absl::StrCat(base, ".tmp.", pid, ".0");
}

// The checkpoint the children save: the values of seed 2, in its own
// directory.
struct Source {
  TempDir dir;
  std::string path = dir.Path("next.ckpt");
  std::string bytes;
  explicit Source(const Graph& graph) {
    SaveSeed(graph, 2, path);
    bytes = ReadAll(path);
  }
};

TEST_CASE("A save killed before its rename leaves the previous checkpoint, bit for bit") {
  ::signal(SIGPIPE, SIG_IGN);
  auto graph = BuildGraph();
  Source source(*graph);
  REQUIRE(source.bytes.size() > 24u << 20);

  struct Point {
    std::string stop;
    std::string steps;  // the bytes the child writes up to the stop
  };
  for (const Point& point : {Point{"partial", "P"}, Point{"synced", "PS"}}) {
    INFO("killed at " << point.stop);
    TempDir dir;
    const std::string path = dir.Path("model.ckpt");
    SaveSeed(*graph, 1, path);
    const std::string previous = ReadAll(path);

    SavingChild child(source.path, path, point.stop);
    REQUIRE(child.ReadSteps(point.steps.back()) == point.steps);
    // Stopped: the new data is in the temporary file only.
    const std::string tmp = TempName("model.ckpt", child.pid());
    CHECK(dir.Files() == std::vector<std::string>{"model.ckpt", tmp});
    auto partial = ReadFileToString(dir.Path(tmp));
    CHECK(partial.ok());
    if (partial.ok() && point.stop == "partial") {
      CHECK(partial->size() >= source.bytes.size() / 2);
      CHECK(partial->size() < source.bytes.size());
      CHECK(SameBytes(*partial, source.bytes.substr(0, partial->size())));
    } else if (partial.ok()) {
      CHECK(SameBytes(*partial, source.bytes));
    }
    child.Kill();

    // The crash left the temporary file, and the previous checkpoint intact.
    CHECK(dir.Files() == std::vector<std::string>{"model.ckpt", tmp});
    CHECK(SameBytes(ReadAll(path), previous));
    CheckHoldsSeed(*graph, path, 1);

    // The next save replaces the checkpoint and removes the leftover.
    SaveSeed(*graph, 3, path);
    CHECK(dir.Files() == std::vector<std::string>{"model.ckpt"});
    CheckHoldsSeed(*graph, path, 3);
  }
}

TEST_CASE("A save killed after its rename leaves the complete new checkpoint") {
  ::signal(SIGPIPE, SIG_IGN);
  auto graph = BuildGraph();
  Source source(*graph);
  TempDir dir;
  const std::string path = dir.Path("model.ckpt");
  SaveSeed(*graph, 1, path);

  SavingChild child(source.path, path, "renamed");
  REQUIRE(child.ReadSteps('R') == "PSR");
  child.Kill();
  CHECK(dir.Files() == std::vector<std::string>{"model.ckpt"});
  CHECK(SameBytes(ReadAll(path), source.bytes));
  CheckHoldsSeed(*graph, path, 2);

  SaveSeed(*graph, 3, path);
  CHECK(dir.Files() == std::vector<std::string>{"model.ckpt"});
  CheckHoldsSeed(*graph, path, 3);
}

TEST_CASE("Saves killed one after another leave at most one temporary file") {
  ::signal(SIGPIPE, SIG_IGN);
  auto graph = BuildGraph();
  Source source(*graph);
  TempDir dir;
  const std::string path = dir.Path("model.ckpt");
  SaveSeed(*graph, 1, path);

  // Each save removes the file the save killed before it left.
  for (const char* stop : {"partial", "synced", "partial"}) {
    INFO("killed at " << stop);
    SavingChild child(source.path, path, stop);
    REQUIRE(child.ReadSteps(std::string(stop) == "partial" ? 'P' : 'S').size() >= 1);
    child.Kill();
    CHECK(dir.Files() ==
          std::vector<std::string>{"model.ckpt", TempName("model.ckpt", child.pid())});
    CheckHoldsSeed(*graph, path, 1);
  }

  SaveSeed(*graph, 3, path);
  CHECK(dir.Files() == std::vector<std::string>{"model.ckpt"});
  CheckHoldsSeed(*graph, path, 3);
}

TEST_CASE("A save leaves the temporary file of a save still running in another process") {
  ::signal(SIGPIPE, SIG_IGN);
  auto graph = BuildGraph();
  Source source(*graph);
  TempDir dir;
  const std::string path = dir.Path("model.ckpt");

  // The child is stopped between its fsync and its rename when this process
  // saves the same path.
  SavingChild child(source.path, path, "synced");
  REQUIRE(child.ReadSteps('S') == "PS");
  const std::string tmp = TempName("model.ckpt", child.pid());
  SaveSeed(*graph, 3, path);
  REQUIRE(dir.Files() == std::vector<std::string>{"model.ckpt", tmp});
  CheckHoldsSeed(*graph, path, 3);

  // The child's save still completes, and it renamed last.
  child.Release();
  CHECK(child.ReadSteps('R') == "R");
  const int status = child.Wait();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(dir.Files() == std::vector<std::string>{"model.ckpt"});
  CheckHoldsSeed(*graph, path, 2);
}

TEST_CASE("A save removes only its own checkpoint's leftover temporary files") {
  auto graph = BuildGraph();
  TempDir dir;
  TempDir outside;
  const std::string path = dir.Path("model.ckpt");
  // Pids no process of this test has; none holds a lock on these files.
  const std::string dead = "4000000";
  REQUIRE(absl::StrCat(::getpid()) != dead);
  auto touch = [](const std::string& file) {
    std::ofstream out(file);
    out << "x";
    REQUIRE(out.good());
  };
  const std::vector<std::string> stale = {"model.ckpt.tmp." + dead + ".0",
                                          "model.ckpt.tmp." + dead + ".17"};
  for (const std::string& name : stale) touch(dir.Path(name));
  std::vector<std::string> kept = {
      "model.ckpt",
      "model.ckpt.bak",
      "model.ckpt.tmp.notes",
      "model.ckpt.tmp." + dead,
      "model.ckpt.tmp.12x.0",
      "model.ckpt.tmp." + dead + ".0.old",
      "other.ckpt.tmp." + dead + ".0",
      "old_model.ckpt.tmp." + dead + ".0",
      // This process's own names may be another thread's save in progress.
      absl::StrCat("model.ckpt.tmp.", ::getpid(), ".999999"),
  };
  for (const std::string& name : kept) touch(dir.Path(name));
  // Not regular files: a directory, and a symlink to a file elsewhere.
  const std::string subdir = "model.ckpt.tmp." + dead + ".1";
  REQUIRE(::mkdir(dir.Path(subdir).c_str(), 0755) == 0);
  touch(dir.Path(subdir) + "/inside");
  const std::string link = "model.ckpt.tmp." + dead + ".2";
  touch(outside.Path("target"));
  REQUIRE(::symlink(outside.Path("target").c_str(), dir.Path(link).c_str()) == 0);
  kept.push_back(subdir);
  kept.push_back(link);
  std::sort(kept.begin(), kept.end());

  SaveSeed(*graph, 1, path);
  CHECK(dir.Files() == kept);
  CHECK(outside.Files() == std::vector<std::string>{"target"});
  CHECK(std::filesystem::exists(dir.Path(subdir) + "/inside"));
  CheckHoldsSeed(*graph, path, 1);
}

TEST_CASE("A bare file name is saved, and cleaned up after, in the working directory") {
  ::signal(SIGPIPE, SIG_IGN);
  auto graph = BuildGraph();
  Source source(*graph);
  TempDir dir;
  const std::filesystem::path previous_cwd = std::filesystem::current_path();
  struct RestoreCwd {
    std::filesystem::path cwd;
    ~RestoreCwd() { std::filesystem::current_path(cwd); }
  } restore{previous_cwd};
  std::filesystem::current_path(dir.Path(""));
  SaveSeed(*graph, 1, "model.ckpt");

  SavingChild child(source.path, "model.ckpt", "synced");
  REQUIRE(child.ReadSteps('S') == "PS");
  child.Kill();
  CHECK(dir.Files() == std::vector<std::string>{"model.ckpt", TempName("model.ckpt", child.pid())});
  CheckHoldsSeed(*graph, "model.ckpt", 1);

  SaveSeed(*graph, 3, "model.ckpt");
  CHECK(dir.Files() == std::vector<std::string>{"model.ckpt"});
  CheckHoldsSeed(*graph, "model.ckpt", 3);
}

TEST_CASE("A checkpoint path naming a directory is refused before anything is written") {
  auto graph = BuildGraph();
  TempDir dir;
  auto session = MakeSession(*graph);
  const std::vector<Tensor> values = MakeValues(1);
  FeedList feeds;
  for (size_t v = 0; v < kVars.size(); ++v) {
    feeds.emplace_back(kVars[v].name + "/initial_value", values[v]);
  }
  REQUIRE(session->Run(feeds, {}, {"init"}).ok());
  for (const std::string& path : {dir.Path("sub/"), dir.Path("."), dir.Path("..")}) {
    INFO(path);
    const absl::Status saved = session->SaveCheckpoint(path);
    CHECK(saved.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(saved.message()) ==
          "checkpoint path '" + path + "' names a directory, not a file");
  }
  CHECK(dir.Files().empty());
}

}  // namespace
}  // namespace sluice
