#include "tools/dump_command.h"

#include <memory>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "graph/graph_io.h"
#include "graph/status_macros.h"
#include "tools/graph_printer.h"

ABSL_FLAG(std::string, format, "text",
          "what `sluice dump` prints: text (a line per node, then a summary) or dot (Graphviz)");

namespace sluice {

const std::vector<absl::string_view>& DumpFlagNames() {
  static const auto* names = new std::vector<absl::string_view>{"format"};
  return *names;
}

absl::StatusOr<DumpOptions> DumpOptionsFromCommandLine(const std::vector<std::string>& args) {
  if (args.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("missing FILE (usage: ", kDumpUsage, ")"));
  }
  if (args.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", args[1], "': dump takes one FILE (usage: ", kDumpUsage, ")"));
  }
  DumpOptions options;
  options.path = args[0];
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format == "text") {
    options.format = DumpFormat::kText;
  } else if (format == "dot") {
    options.format = DumpFormat::kDot;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown --format '", format, "' (expected text or dot)"));
  }
  return options;
}

absl::StatusOr<std::string> RunDump(const DumpOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, LoadGraph(options.path));
  switch (options.format) {
    case DumpFormat::kText:
      return FormatGraphText(*graph);
    case DumpFormat::kDot:
      return FormatGraphDot(*graph);
  }
  return absl::InternalError("unhandled dump format");
}

}  // namespace sluice
