#include "tools/run_command.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "graph/graph_io.h"
#include "graph/status_macros.h"
#include "runtime/npy.h"
#include "runtime/session.h"
#include "tools/optimization_flags.h"

ABSL_FLAG(std::vector<std::string>, feed, {},
          "NAME=FILE.npy: feed the output NAME (node or node:index) from a .npy file; repeats");
ABSL_FLAG(std::vector<std::string>, fetch, {},
          "NAME: an output (node or node:index) to compute and print; repeats");
ABSL_FLAG(std::vector<std::string>, target, {}, "NAME: a node to run for its effect; repeats");
ABSL_FLAG(std::string, out, "", "DIR: also save each fetch as DIR/NAME.npy");
ABSL_FLAG(std::string, restore, "",
          "CKPT: start every variable from this checkpoint instead of its initializer");

namespace sluice {
namespace {

namespace fs = std::filesystem;

// Values of --fetch or --target, none of them empty (`--fetch a,,b`).
absl::StatusOr<std::vector<std::string>> NamesOf(absl::string_view flag,
                                                 std::vector<std::string> names) {
  for (const std::string& name : names) {
    if (name.empty())
      return absl::InvalidArgumentError(absl::StrCat("--", flag, " has an empty NAME"));
  }
  return names;
}

// The --feed values as (NAME, FILE) pairs. The flag parser splits list flags
// at commas, so a piece without '=' cannot start a feed: it is the rest of
// the previous feed's file name, whose path held a comma.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> FeedsOf(
    const std::vector<std::string>& pieces) {
  std::vector<std::pair<std::string, std::string>> feeds;
  for (const std::string& piece : pieces) {
    const size_t eq = piece.find('=');
    if (eq == std::string::npos && !feeds.empty()) {
      absl::StrAppend(&feeds.back().second, ",", piece);
      continue;
    }
    if (eq == std::string::npos || eq == 0 || eq + 1 == piece.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--feed '", piece, "' must look like NAME=FILE.npy"));
    }
    feeds.emplace_back(piece.substr(0, eq), piece.substr(eq + 1));
  }
  return feeds;
}

// "node" or "node:index" as the node name and the index; `name` itself when
// the suffix is not an index (the Session reports that).
std::pair<absl::string_view, int> SplitOutputName(absl::string_view name) {
  const size_t colon = name.rfind(':');
  int index = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(name.substr(colon + 1), &index)) {
    return {name, 0};
  }
  return {name.substr(0, colon), index};
}

// The initializers of the variables the fetches and targets read, leaving out
// variables whose value is fed. A graph file holds no trained values, so a
// run starts every variable it needs from its initializer. Names the graph
// does not have are skipped here; the Session reports them.
std::vector<std::string> NeededInitializers(const Graph& graph, const RunCommandOptions& options) {
  absl::flat_hash_set<Output> fed;
  for (const auto& [name, path] : options.feeds) {
    const auto [node_name, index] = SplitOutputName(name);
    if (Node* node = graph.FindNode(node_name)) fed.insert(Output(node, index));
  }
  std::vector<bool> seen(graph.id_bound(), false);
  std::vector<Node*> stack;
  for (const std::string& fetch : options.fetches) {
    const auto [node_name, index] = SplitOutputName(fetch);
    Node* node = graph.FindNode(node_name);
    if (node != nullptr && !fed.contains(Output(node, index))) stack.push_back(node);
  }
  for (const std::string& target : options.targets) {
    if (Node* node = graph.FindNode(target)) stack.push_back(node);
  }
  std::vector<std::string> initializers;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    if (seen[node->id()]) continue;
    seen[node->id()] = true;
    if (node->op() == "Variable") {
      const AttrValue* attr = node->FindAttr("initializer");
      const std::string* init = attr ? std::get_if<std::string>(&attr->value()) : nullptr;
      // A variable without a usable initializer stays uninitialised, and the
      // run says so, naming it.
      if (init != nullptr && graph.FindNode(*init) != nullptr) initializers.push_back(*init);
    }
    for (const Output& input : node->inputs()) {
      if (!fed.contains(input)) stack.push_back(input.node);
    }
    for (Node* control : node->control_inputs()) stack.push_back(control);
  }
  return initializers;
}

// Removes the files at `paths`, ignoring any that are already gone.
void RemoveFiles(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
}

// Saves each fetch as `dir`/FetchFileName(fetch), all or nothing as far as
// the file system allows: every value is encoded and written in full under a
// temporary name before the first rename, and on an error the temporary
// files and the directories this call created are removed.
absl::Status SaveFetches(const std::string& dir, const std::vector<std::string>& fetches,
                         const std::vector<Tensor>& values) {
  // File path -> its bytes; a fetch given twice is saved once.
  std::map<std::string, std::string> files;
  for (size_t i = 0; i < fetches.size(); ++i) {
    const std::string path = (fs::path(dir) / FetchFileName(fetches[i])).string();
    if (files.contains(path)) continue;
    absl::StatusOr<std::string> bytes = SerializeNpy(values[i]);
    if (!bytes.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fetch '", fetches[i], "' cannot be saved: ", bytes.status().message()));
    }
    files.emplace(path, *std::move(bytes));
  }

  // The directories create_directories is about to make, deepest first.
  std::vector<fs::path> created_dirs;
  std::error_code ec;
  for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    created_dirs.push_back(p);
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    return absl::PermissionDeniedError(
        absl::StrCat("--out ", dir, ": cannot create the directory: ",
                     ec ? ec.message() : std::string("a file is in the way")));
  }
  std::vector<std::string> temporaries;
  auto fail = [&](absl::Status status) {
    RemoveFiles(temporaries);
    for (const fs::path& created : created_dirs) {
      std::error_code ignored;
      fs::remove(created, ignored);  // only removes it while empty
    }
    return status;
  };

  for (const auto& [path, bytes] : files) {
    if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
      return fail(absl::FailedPreconditionError(
          absl::StrCat(path, ": cannot write: it exists and is not a regular file")));
    }
  }
  for (const auto& [path, bytes] : files) {
    const std::string temporary = absl::StrCat(path, ".partial.", getpid());
    temporaries.push_back(temporary);
    absl::Status written = WriteStringToFileAtomically(temporary, bytes);
    if (!written.ok()) {
      // Name the file the user asked for, not the temporary one.
      return fail(absl::Status(written.code(),
                               absl::StrReplaceAll(written.message(), {{temporary, path}})));
    }
  }
  size_t renamed = 0;
  for (const auto& [path, bytes] : files) {
    fs::rename(temporaries[renamed], path, ec);
    if (ec) {
      // Only a file system that changed under us gets here; the files
      // already renamed stay.
      temporaries.erase(temporaries.begin(), temporaries.begin() + renamed);
      return fail(
          absl::PermissionDeniedError(absl::StrCat(path, ": cannot write: ", ec.message())));
    }
    ++renamed;
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<absl::string_view>& RunFlagNames() {
  static const auto* names = new std::vector<absl::string_view>{"feed",    "fetch",    "target",      "out",
                                                               "restore", "optimize", "disable-pass", "device"};
  return *names;
}

std::string FetchFileName(absl::string_view fetch) {
  return absl::StrCat(absl::StrReplaceAll(fetch, {{"/", "_"}, {":", "_"}}), ".npy");
}

absl::StatusOr<RunCommandOptions> RunOptionsFromCommandLine(const std::vector<std::string>& args) {
  if (args.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("missing GRAPH (usage: ", kRunUsage, ")"));
  }
  if (args.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", args[1], "': run takes one GRAPH (usage: ", kRunUsage, ")"));
  }
  RunCommandOptions options;
  options.graph_path = args[0];
  ASSIGN_OR_RETURN(options.feeds, FeedsOf(absl::GetFlag(FLAGS_feed)));
  ASSIGN_OR_RETURN(options.fetches, NamesOf("fetch", absl::GetFlag(FLAGS_fetch)));
  ASSIGN_OR_RETURN(options.targets, NamesOf("target", absl::GetFlag(FLAGS_target)));
  options.out_dir = absl::GetFlag(FLAGS_out);
  options.restore_path = absl::GetFlag(FLAGS_restore);
  ASSIGN_OR_RETURN(options.optimization, OptimizationFromFlags());
  ASSIGN_OR_RETURN(options.device, DevicePolicyFromFlags());
  if (options.fetches.empty() && options.targets.empty()) {
    return absl::InvalidArgumentError("nothing to run: give at least one --fetch or --target");
  }
  if (!options.out_dir.empty() && options.fetches.empty()) {
    return absl::InvalidArgumentError("--out needs at least one --fetch to save");
  }
  // Two different fetches must not be saved over one another.
  std::map<std::string, std::string> fetch_of_file;
  for (const std::string& fetch : options.fetches) {
    const auto [it, inserted] = fetch_of_file.emplace(FetchFileName(fetch), fetch);
    if (!options.out_dir.empty() && !inserted && it->second != fetch) {
      return absl::InvalidArgumentError(absl::StrCat("fetches '", it->second, "' and '", fetch,
                                                     "' would both be saved as ", it->first));
    }
  }
  return options;
}

absl::StatusOr<std::string> RunGraphFile(const RunCommandOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, LoadGraph(options.graph_path));
  FeedList feeds;
  for (const auto& [name, path] : options.feeds) {
    absl::StatusOr<Tensor> value = ReadNpy(path);
    if (!value.ok()) {
      return absl::Status(value.status().code(),
                          absl::StrCat("feed '", name, "': ", value.status().message()));
    }
    feeds.emplace_back(name, *std::move(value));
  }
  SessionOptions session_options;
  session_options.optimization = options.optimization;
  session_options.device = options.device;
  ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(*graph, session_options));
  if (!options.restore_path.empty()) {
    absl::Status restored = session->RestoreCheckpoint(options.restore_path);
    if (!restored.ok()) {
      return absl::Status(restored.code(), absl::StrCat("--restore: ", restored.message()));
    }
  }
  const std::vector<std::string> initializers =
      options.restore_path.empty() ? NeededInitializers(*graph, options)
                                   : std::vector<std::string>{};
  if (!initializers.empty()) {
    // The feeds go along in case an initializer reads one.
    RETURN_IF_ERROR(session->Run(feeds, {}, initializers).status());
  }
  ASSIGN_OR_RETURN(std::vector<Tensor> results,
                   session->Run(feeds, options.fetches, options.targets));
  if (!options.out_dir.empty()) {
    RETURN_IF_ERROR(SaveFetches(options.out_dir, options.fetches, results));
  }

  std::string text;
  for (size_t i = 0; i < results.size(); ++i) {
    const Tensor& t = results[i];
    absl::StrAppend(&text, options.fetches[i], ": ", DTypeName(t.dtype()), t.shape().ToString(),
                    "\n  ", t.ValuesString(kRunPreviewPerDim), "\n");
    if (!options.out_dir.empty()) {
      absl::StrAppend(&text, "  saved to ",
                      (fs::path(options.out_dir) / FetchFileName(options.fetches[i])).string(),
                      "\n");
    }
  }
  if (results.empty()) absl::StrAppend(&text, "ran ", options.targets.size(), " target(s)\n");
  return text;
}

}  // namespace sluice
