#include "examples/example_cli.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "graph/graph_io.h"

namespace sluice::examples {

void UnderscoreFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    if (arg[0] != '-' || arg[1] != '-' || arg[2] == '\0') continue;
    for (char* c = arg + 2; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
  }
}

int PrintFailure(absl::string_view program, absl::string_view message) {
  const std::string line = absl::StrReplaceAll(message, {{"\n", " "}});
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(),
               line.c_str());
  return 1;
}

int BuildSaveAndTrain(absl::string_view program, int epochs, const std::string& save_path,
                      const std::function<absl::StatusOr<std::shared_ptr<Graph>>()>& build,
                      const std::function<absl::Status(const Graph&, int epochs)>& train) {
  if (epochs < 0) return PrintFailure(program, absl::StrCat("--epochs must be >= 0, got ", epochs));
  absl::StatusOr<std::shared_ptr<Graph>> graph = build();
  if (!graph.ok()) return PrintFailure(program, graph.status().message());
  if (!save_path.empty()) {
    absl::Status saved = SaveGraph(**graph, save_path);
    if (!saved.ok()) return PrintFailure(program, saved.message());
  }
  if (epochs == 0) return 0;
  absl::Status trained = train(**graph, epochs);
  if (!trained.ok()) return PrintFailure(program, trained.message());
  return 0;
}

}  // namespace sluice::examples
