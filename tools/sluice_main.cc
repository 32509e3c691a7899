// The `sluice` command line: `sluice <command> [args]`.
//
// Exit codes: 0 on success, 1 when the command fails (e.g. a file does not
// load), 2 for usage errors. Every error is one line on stderr,
// `sluice <command>: <message>`, and nothing is written to stdout.
//
// Flags are Abseil flags, but each command accepts only its own, and this file
// parses them itself: absl::ParseCommandLine prints several lines and exits on
// a bad flag, where we want one line that names the flag and the command.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "tools/dump_command.h"
#include "tools/run_command.h"
#include "tools/train_command.h"
#include "runtime/openmp_env.h"

namespace sluice {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// A subcommand: how it is called, the flags it accepts and what it runs.
struct Command {
  absl::string_view name;
  absl::string_view usage;
  absl::string_view summary;
  const std::vector<absl::string_view>& (*flag_names)();
  // Runs with the positional arguments (flags already parsed) and returns the
  // exit code, having printed any error itself.
  int (*run)(const std::vector<std::string>& args);
};

// Prints `sluice <command>: <message>` as exactly one line; messages from
// lower layers may span lines, which would split one error over several.
void PrintError(absl::string_view command, absl::string_view message) {
  std::string line = absl::StrReplaceAll(message, {{"\r\n", " "}, {"\n", " "}, {"\r", " "}});
  absl::StripTrailingAsciiWhitespace(&line);
  std::cerr << "sluice" << (command.empty() ? "" : " ") << command << ": " << line << std::endl;
}

// Writes a command's result to stdout; a failed write (a full disk, a closed
// pipe) is an error rather than a silently truncated dump.
int PrintResult(absl::string_view command, absl::string_view text) {
  std::cout << text;
  std::cout.flush();
  if (!std::cout) {
    PrintError(command, "cannot write to standard output");
    return kExitFailure;
  }
  return kExitOk;
}

int RunDumpCommand(const std::vector<std::string>& args) {
  absl::StatusOr<DumpOptions> options = DumpOptionsFromCommandLine(args);
  if (!options.ok()) {
    PrintError("dump", options.status().message());
    return kExitUsage;
  }
  absl::StatusOr<std::string> text = RunDump(*options);
  if (!text.ok()) {
    PrintError("dump", text.status().message());
    return kExitFailure;
  }
  return PrintResult("dump", *text);
}

int RunRunCommand(const std::vector<std::string>& args) {
  absl::StatusOr<RunCommandOptions> options = RunOptionsFromCommandLine(args);
  if (!options.ok()) {
    PrintError("run", options.status().message());
    return kExitUsage;
  }
  absl::StatusOr<std::string> text = RunGraphFile(*options);
  if (!text.ok()) {
    PrintError("run", text.status().message());
    return kExitFailure;
  }
  return PrintResult("run", *text);
}

int RunTrainCommand(const std::vector<std::string>& args) {
  absl::StatusOr<TrainCommandOptions> options = TrainOptionsFromCommandLine(args);
  if (!options.ok()) {
    PrintError("train", options.status().message());
    return kExitUsage;
  }
  absl::Status trained = RunTrain(*options, stdout, stderr);
  if (!trained.ok()) {
    PrintError("train", trained.message());
    return kExitFailure;
  }
  return kExitOk;
}

const Command kCommands[] = {
    {"dump", kDumpUsage, kDumpSummary, &DumpFlagNames, &RunDumpCommand},
    {"run", kRunUsage, kRunSummary, &RunFlagNames, &RunRunCommand},
    {"train", kTrainUsage, kTrainSummary, &TrainFlagNames, &RunTrainCommand},
};

const Command* FindCommand(absl::string_view name) {
  for (const Command& command : kCommands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

// "dump", "dump or run", "dump, run or train".
std::string CommandNameList() {
  std::vector<absl::string_view> names;
  for (const Command& command : kCommands) names.push_back(command.name);
  if (names.size() == 1) return std::string(names[0]);
  std::vector<absl::string_view> head(names.begin(), names.end() - 1);
  return absl::StrCat(absl::StrJoin(head, ", "), " or ", names.back());
}

std::string Usage() {
  std::string out = "usage: sluice <command> [args]\n\ncommands:\n";
  for (const Command& command : kCommands) {
    absl::StrAppend(&out, "  ", command.usage, "\n      ", command.summary, "\n");
  }
  out.append("\n'sluice help <command>' or 'sluice <command> --help' describes a command.\n");
  return out;
}

std::string CommandUsage(const Command& command) {
  std::string out = absl::StrCat("usage: ", command.usage, "\n\n", command.summary, "\n");
  const std::vector<absl::string_view>& flags = command.flag_names();
  if (!flags.empty()) out.append("\nflags:\n");
  for (absl::string_view name : flags) {
    const absl::CommandLineFlag* flag =
        absl::FindCommandLineFlag(absl::StrReplaceAll(name, {{"-", "_"}}));
    if (flag == nullptr) continue;
    absl::StrAppend(&out, "  --", name, "  ", flag->Help(), " (default: ", flag->DefaultValue(),
                    ")\n");
  }
  return out;
}

bool IsHelpArg(absl::string_view arg) {
  return arg == "help" || arg == "--help" || arg == "-help" || arg == "-h";
}

// The flag `name` if `command` accepts it. Commands spell multi-word flags
// with dashes (--train-op); Abseil names them with underscores.
absl::CommandLineFlag* FindCommandFlag(const Command& command, absl::string_view name) {
  for (absl::string_view accepted : command.flag_names()) {
    if (accepted == name) return absl::FindCommandLineFlag(absl::StrReplaceAll(name, {{"-", "_"}}));
  }
  return nullptr;
}

std::string ExpectedFlags(const Command& command) {
  const std::vector<absl::string_view>& flags = command.flag_names();
  if (flags.empty()) return absl::StrCat(command.name, " takes no flags");
  std::vector<std::string> dashed;
  for (absl::string_view name : flags) dashed.push_back(absl::StrCat("--", name));
  return absl::StrCat("expected ", absl::StrJoin(dashed, ", "));
}

// Sets the flags in `args` that `command` accepts and returns the positional
// arguments. Accepts what Abseil does: `--name=value`, `--name value`, one
// dash or two, `--name`/`--noname` for booleans, and `--` to end the flags.
absl::StatusOr<std::vector<std::string>> ParseCommandFlags(const Command& command,
                                                           const std::vector<std::string>& args) {
  std::vector<std::string> positionals;
  // List flags (--feed, --fetch, ...) may repeat; their values accumulate and
  // are set once at the end.
  std::vector<std::pair<absl::CommandLineFlag*, std::vector<std::string>>> lists;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positionals.insert(positionals.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positionals.push_back(arg);
      continue;
    }
    absl::string_view body = arg;
    body.remove_prefix(arg[1] == '-' ? 2 : 1);
    const size_t equals = body.find('=');
    const absl::string_view name = body.substr(0, equals);
    std::optional<std::string> value;
    if (equals != absl::string_view::npos) value = std::string(body.substr(equals + 1));
    const std::string spelled = arg.substr(0, arg.find('='));

    absl::CommandLineFlag* flag = FindCommandFlag(command, name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* positive = FindCommandFlag(command, name.substr(2));
      if (positive != nullptr && positive->IsOfType<bool>()) {
        flag = positive;
        negated = true;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", spelled, "' (", ExpectedFlags(command), ")"));
    }
    if (negated) {
      if (value.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("flag '", spelled, "' takes no value"));
      }
      value = "false";
    } else if (!value.has_value()) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag '", spelled, "' needs a value"));
      }
    }
    if (flag->IsOfType<std::vector<std::string>>()) {
      auto it = std::find_if(lists.begin(), lists.end(),
                             [&](const auto& entry) { return entry.first == flag; });
      if (it == lists.end()) it = lists.insert(lists.end(), {flag, {}});
      it->second.push_back(*value);
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(*value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value '", *value, "' for flag '", spelled, "': ", error));
    }
  }
  for (const auto& [flag, values] : lists) {
    std::string error;
    const std::string joined = absl::StrJoin(values, ",");
    if (!flag->ParseFrom(joined, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value '", joined, "' for flag '--", flag->Name(), "': ", error));
    }
  }
  return positionals;
}

int RunCommand(const Command& command, const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      return PrintResult(command.name, CommandUsage(command));
    }
  }
  absl::StatusOr<std::vector<std::string>> positionals = ParseCommandFlags(command, args);
  if (!positionals.ok()) {
    PrintError(command.name, positionals.status().message());
    return kExitUsage;
  }
  return command.run(*positionals);
}

int Main(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << Usage();
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (IsHelpArg(name)) {
    if (args.size() == 1) return PrintResult("", Usage());
    const Command* command = FindCommand(args[1]);
    if (command == nullptr) {
      PrintError("help", absl::StrCat("unknown command '", args[1], "' (expected ",
                                      CommandNameList(), ")"));
      return kExitUsage;
    }
    return PrintResult(command->name, CommandUsage(*command));
  }
  const Command* command = FindCommand(name);
  if (command == nullptr) {
    PrintError("", absl::StrCat("unknown command '", name, "' (expected ", CommandNameList(), ")"));
    return kExitUsage;
  }
  return RunCommand(*command, std::vector<std::string>(args.begin() + 1, args.end()));
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  // Nothing below is meant to throw; this only turns an unexpected exception
  // (e.g. out of memory on an enormous file) into a one-line error.
  try {
    return sluice::Main(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    sluice::PrintError("", absl::StrCat("internal error: ", e.what()));
    return 1;
  }
}
