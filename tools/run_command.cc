#include "tools/run_command.h"

#include <filesystem>
#include <system_error>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "graph/graph_io.h"
#include "graph/status_macros.h"
#include "runtime/npy.h"
#include "runtime/session.h"

ABSL_FLAG(std::vector<std::string>, feed, {},
          "NAME=FILE.npy: feed the output NAME (node or node:index) from a .npy file; repeats");
ABSL_FLAG(std::vector<std::string>, fetch, {},
          "NAME: an output (node or node:index) to compute and print; repeats");
ABSL_FLAG(std::vector<std::string>, target, {}, "NAME: a node to run for its effect; repeats");
ABSL_FLAG(std::string, out, "", "DIR: also save each fetch as DIR/NAME.npy");

namespace sluice {

const std::vector<absl::string_view>& RunFlagNames() {
  static const auto* names = new std::vector<absl::string_view>{"feed", "fetch", "target", "out"};
  return *names;
}

std::string FetchFileName(absl::string_view fetch) {
  return absl::StrCat(absl::StrReplaceAll(fetch, {{"/", "_"}, {":", "_"}}), ".npy");
}

absl::StatusOr<RunCommandOptions> RunOptionsFromCommandLine(const std::vector<std::string>& args) {
  if (args.empty()) return absl::InvalidArgumentError("missing GRAPH (a .pb or .pbtxt file)");
  if (args.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one GRAPH, got ", args.size(), " (extra: '", args[1], "')"));
  }
  RunCommandOptions options;
  options.graph_path = args[0];
  for (const std::string& feed : absl::GetFlag(FLAGS_feed)) {
    const size_t eq = feed.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == feed.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--feed '", feed, "' must look like NAME=FILE.npy"));
    }
    options.feeds.emplace_back(feed.substr(0, eq), feed.substr(eq + 1));
  }
  options.fetches = absl::GetFlag(FLAGS_fetch);
  options.targets = absl::GetFlag(FLAGS_target);
  options.out_dir = absl::GetFlag(FLAGS_out);
  if (options.fetches.empty() && options.targets.empty()) {
    return absl::InvalidArgumentError("nothing to run: give at least one --fetch or --target");
  }
  if (!options.out_dir.empty() && options.fetches.empty()) {
    return absl::InvalidArgumentError("--out needs at least one --fetch to save");
  }
  return options;
}

absl::StatusOr<std::string> RunGraphFile(const RunCommandOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, LoadGraph(options.graph_path));
  FeedList feeds;
  for (const auto& [name, path] : options.feeds) {
    auto value = ReadNpy(path);
    if (!value.ok()) {
      return absl::Status(value.status().code(),
                          absl::StrCat("feed '", name, "': ", value.status().message()));
    }
    feeds.emplace_back(name, *std::move(value));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(*graph));
  ASSIGN_OR_RETURN(std::vector<Tensor> results,
                   session->Run(feeds, options.fetches, options.targets));

  std::vector<std::string> encoded;
  if (!options.out_dir.empty()) {
    // Encode every fetch before writing any file, so an unsavable fetch
    // leaves nothing behind.
    for (size_t i = 0; i < results.size(); ++i) {
      auto bytes = SerializeNpy(results[i]);
      if (!bytes.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("fetch '", options.fetches[i],
                                                       "' cannot be saved: ",
                                                       bytes.status().message()));
      }
      encoded.push_back(*std::move(bytes));
    }
    std::error_code ec;
    std::filesystem::create_directories(options.out_dir, ec);
    if (ec || !std::filesystem::is_directory(options.out_dir)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "--out ", options.out_dir, ": cannot create the directory",
          ec ? absl::StrCat(": ", ec.message()) : std::string(": a file is in the way")));
    }
  }
  std::string text;
  for (size_t i = 0; i < results.size(); ++i) {
    const Tensor& t = results[i];
    absl::StrAppend(&text, options.fetches[i], ": ", DTypeName(t.dtype()), t.shape().ToString(),
                    "\n  ", t.ValuesString(8), "\n");
    if (!options.out_dir.empty()) {
      const std::string path =
          (std::filesystem::path(options.out_dir) / FetchFileName(options.fetches[i])).string();
      RETURN_IF_ERROR(WriteStringToFileAtomically(path, encoded[i]));
      absl::StrAppend(&text, "  saved to ", path, "\n");
    }
  }
  if (results.empty()) absl::StrAppend(&text, "ran ", options.targets.size(), " target(s)\n");
  return text;
}

}  // namespace sluice
