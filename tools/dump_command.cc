#include "tools/dump_command.h"

#include <functional>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "graph/graph_io.h"
#include "graph/status_macros.h"
#include "passes/placement.h"
#include "runtime/devices.h"
#include "runtime/kernel_setup.h"
#include "runtime/plan.h"
#include "tools/graph_printer.h"
#include "tools/optimization_flags.h"

ABSL_FLAG(std::string, format, "text",
          "what `sluice dump` prints: text (a line per node, then a summary) or dot (Graphviz)");
ABSL_FLAG(bool, memory, false,
          "dump: print the memory plan the graph compiles to, each placeholder fed the shape "
          "--feed-shape gives or its own with an unknown batch dim set to --batch (a line per "
          "arena buffer, then memory: arena_bytes=N lower_bound_bytes=N no_reuse_bytes=N)");
ABSL_FLAG(bool, passes, false,
          "dump: print the graph after each pass of the optimisation pipeline of the plan it "
          "compiles to (placeholders fed as for --memory), each with the pass's statistics");
ABSL_FLAG(bool, placement, false,
          "dump: print the device of every node of the plan the graph compiles to (placeholders "
          "fed as for --memory) and the copies between host and device; with --device cuda on a "
          "machine without a GPU, the placement a GPU would get");
ABSL_FLAG(std::vector<std::string>, feed_shape, {},
          "NAME=D,D,...: dump --memory feeds NAME with this shape; repeats");
// Shared with `sluice run` and `sluice train`, which define them.
ABSL_DECLARE_FLAG(std::vector<std::string>, fetch);
ABSL_DECLARE_FLAG(std::vector<std::string>, target);
ABSL_DECLARE_FLAG(int64_t, batch);

namespace sluice {
namespace {

// The --feed-shape values. The command line joins repeated list flags with
// commas before Abseil splits them again, so "x=1,784" arrives as "x=1" and
// "784": a piece with '=' starts an entry, the others continue its dims.
absl::StatusOr<std::vector<std::pair<std::string, std::vector<int64_t>>>> ParseFeedShapes(
    const std::vector<std::string>& pieces) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  auto add_dim = [&](absl::string_view text, absl::string_view whole) -> absl::Status {
    int64_t dim = 0;
    if (!absl::SimpleAtoi(text, &dim) || dim < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad --feed-shape '", whole, "': '", text, "' is not a dim >= 0 (expected NAME=D,D,...)"));
    }
    shapes.back().second.push_back(dim);
    return absl::OkStatus();
  };
  for (const std::string& piece : pieces) {
    const size_t equals = piece.find('=');
    if (equals == std::string::npos) {
      if (shapes.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad --feed-shape '", piece, "': expected NAME=D,D,..."));
      }
      RETURN_IF_ERROR(add_dim(piece, shapes.back().first + "=..." + piece));
      continue;
    }
    const std::string name = piece.substr(0, equals);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad --feed-shape '", piece, "': no NAME before '=' (expected NAME=D,D,...)"));
    }
    shapes.push_back({name, {}});
    const std::string first = piece.substr(equals + 1);
    if (!first.empty()) RETURN_IF_ERROR(add_dim(first, piece));  // empty: a scalar
  }
  return shapes;
}

// "node" of "node" or "node:index".
absl::string_view NodeName(absl::string_view name) {
  const size_t colon = name.rfind(':');
  return colon == absl::string_view::npos ? name : name.substr(0, colon);
}

// The request `sluice dump --memory` compiles, fed and fetched as described
// on DumpCompileOptions.
absl::StatusOr<PlanRequest> MemoryRequest(const Graph& graph, const DumpCompileOptions& options) {
  PlanRequest request;
  request.fetch_names = options.fetches;
  request.target_names = options.targets;
  std::vector<Node*> roots;
  for (const std::string& fetch : options.fetches) {
    Node* node = graph.FindNode(NodeName(fetch));
    if (node == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("--fetch '", fetch, "': no node named '", NodeName(fetch), "' in the graph"));
    }
    roots.push_back(node);
  }
  for (const std::string& target : options.targets) {
    Node* node = graph.FindNode(target);
    if (node == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("--target '", target, "': no node named '", target, "' in the graph"));
    }
    roots.push_back(node);
  }
  if (roots.empty()) {
    for (Node* node : graph.nodes()) {
      if (node->out_edges().empty() && node->control_outputs().empty()) {
        request.target_names.push_back(node->name());
        roots.push_back(node);
      }
    }
  }

  // Explicit shapes first; they may name any output.
  absl::flat_hash_map<std::string, bool> shaped;  // node name -> output 0 shaped
  for (const auto& [name, dims] : options.feed_shapes) {
    Node* node = graph.FindNode(NodeName(name));
    if (node == nullptr) {
      return absl::NotFoundError(absl::StrCat("--feed-shape '", name, "': no node named '",
                                              NodeName(name), "' in the graph"));
    }
    int index = 0;
    if (NodeName(name).size() != name.size() &&
        (!absl::SimpleAtoi(name.substr(NodeName(name).size() + 1), &index) || index < 0 ||
         index >= node->num_outputs())) {
      return absl::InvalidArgumentError(
          absl::StrCat("--feed-shape '", name, "': ", node->DebugName(), " has no such output"));
    }
    if (node->num_outputs() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--feed-shape '", name, "': ", node->DebugName(), " has no outputs"));
    }
    request.feed_names.push_back(name);
    request.feed_dtypes.push_back(node->output_dtype(index));
    request.feed_shapes.push_back(Shape(absl::MakeConstSpan(dims)));
    if (index == 0) shaped[node->name()] = true;
  }

  // Every placeholder the roots need, in graph order.
  std::vector<bool> needed(graph.id_bound(), false);
  std::vector<Node*> stack = roots;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (needed[n->id()]) continue;
    needed[n->id()] = true;
    for (const Output& in : n->inputs()) stack.push_back(in.node);
    for (Node* c : n->control_inputs()) stack.push_back(c);
  }
  for (Node* node : graph.nodes()) {
    if (!needed[node->id()] || node->op() != "Placeholder" || shaped.contains(node->name())) {
      continue;
    }
    Shape shape = node->output_shape(0);
    if (shape.rank() > 0 && shape.dim(0) == kUnknownDim) shape.set_dim(0, options.batch);
    if (!shape.IsFullyDefined()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "placeholder '", node->name(), "' has shape ", node->output_shape(0).ToString(),
          " with more than the batch dim unknown: give it with --feed-shape ", node->name(),
          "=D,D,..."));
    }
    request.feed_names.push_back(node->name());
    request.feed_dtypes.push_back(node->output_dtype(0));
    request.feed_shapes.push_back(shape);
  }
  return request;
}

// "cse: changed, 40 -> 31 nodes (+0 -9, 0 fused), 2 runs, 0.12 ms".
std::string FormatPassStats(const PassStats& s) {
  return absl::StrFormat("%s: %s, %d -> %d nodes (+%d -%d, %d fused), %d run%s, %.2f ms", s.pass,
                         s.changed ? "changed" : "unchanged", s.nodes_before, s.nodes_after,
                         s.nodes_added, s.nodes_removed, s.nodes_fused, s.iterations,
                         s.iterations == 1 ? "" : "s", s.milliseconds);
}

std::string FormatPassHeader(const PassStats& s) {
  return absl::StrCat("== after ", FormatPassStats(s));
}

// The accelerator `sluice dump --placement` places for, and a note on where
// it comes from.
absl::StatusOr<std::pair<DeviceType, std::string>> InspectedAccelerator(DevicePolicy policy) {
  if (policy == DevicePolicy::kCpu) return std::pair{DeviceType::kCpu, std::string("none (--device cpu)")};
  ASSIGN_OR_RETURN(std::unique_ptr<DeviceContext> present, OpenAccelerator(DevicePolicy::kAuto));
  if (present != nullptr) return std::pair{present->type(), present->name()};
  if (policy == DevicePolicy::kAuto) {
    return std::pair{DeviceType::kCpu, std::string("none (no usable GPU here; --device cuda shows the "
                                                   "placement one would get)")};
  }
  if (GlobalKernelRegistry().RegisteredDTypes("MatMul", DeviceType::kCuda).empty()) {
    return absl::FailedPreconditionError(
        "--device cuda: this build of Sluice has no CUDA layer, so there is no CUDA placement to "
        "show (configure with -DSLUICE_CUDA=ON)");
  }
  return std::pair{DeviceType::kCuda,
                   std::string("cuda:0 (none present here: the placement a GPU would get)")};
}

// "placement: ...", then one line per node of the placed plan in schedule
// order: its device, its name and op, and for copies what they copy.
absl::StatusOr<std::string> DumpPlacement(const Graph& graph, const PlanRequest& request,
                                          const SessionOptions& options, DevicePolicy policy) {
  ASSIGN_OR_RETURN(auto accelerator, InspectedAccelerator(policy));
  ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan,
                   PlacePlanForInspection(graph, request, options, accelerator.first));
  const PlacementStats& stats = plan->placement();
  std::string text = absl::StrCat("accelerator: ", accelerator.second, "\n");
  absl::StrAppend(&text, "placement: ", stats.on_accelerator, " nodes on ",
                  PlacementDeviceName(accelerator.first == DeviceType::kCpu ? DeviceType::kCuda
                                                                            : accelerator.first),
                  ", ", stats.on_host, " on cpu; ", stats.copies_to_device, " copies to the device, ",
                  stats.copies_to_host, " to the host\n");
  // Feeds become placeholders named _feed_<i> in a plan; say which.
  absl::flat_hash_map<std::string, std::string> fed;
  for (size_t i = 0; i < request.feed_names.size(); ++i) {
    fed[absl::StrCat("_feed_", i)] = request.feed_names[i];
  }
  ASSIGN_OR_RETURN(std::vector<Node*> order, plan->graph().TopologicalOrder());
  for (Node* n : order) {
    absl::StrAppend(&text, absl::StrFormat("%-7s %s", n->device(), n->DebugName()));
    if (auto it = fed.find(n->name()); it != fed.end() && n->op() == "Placeholder") {
      absl::StrAppend(&text, " = feed '", it->second, "'");
    }
    if (n->op() == "_HostToDevice" || n->op() == "_DeviceToHost") {
      absl::StrAppend(&text, " <- ", n->input(0).name());
    }
    absl::StrAppend(&text, "\n");
  }
  return text;
}

}  // namespace

const std::vector<absl::string_view>& DumpFlagNames() {
  static const auto* names = new std::vector<absl::string_view>{
      "format", "passes", "memory",   "placement",    "batch", "feed-shape",
      "fetch",  "target", "optimize", "disable-pass", "device"};
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
  const std::vector<std::string> feed_shapes = absl::GetFlag(FLAGS_feed_shape);
  const std::vector<std::string> fetches = absl::GetFlag(FLAGS_fetch);
  const std::vector<std::string> targets = absl::GetFlag(FLAGS_target);
  ASSIGN_OR_RETURN(options.optimization, OptimizationFromFlags());
  ASSIGN_OR_RETURN(options.device, DevicePolicyFromFlags());
  options.passes = absl::GetFlag(FLAGS_passes);
  options.memory = absl::GetFlag(FLAGS_memory);
  options.placement = absl::GetFlag(FLAGS_placement);
  if (options.passes + options.memory + options.placement > 1) {
    return absl::InvalidArgumentError("--passes, --memory and --placement cannot be combined");
  }
  if (!options.passes && !options.memory && !options.placement) {
    for (const auto& [flag, values] :
         {std::pair{"--feed-shape", &feed_shapes}, {"--fetch", &fetches}, {"--target", &targets}}) {
      if (!values->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(flag, " needs --passes, --memory or --placement"));
      }
    }
    return options;
  }
  DumpCompileOptions compile;
  compile.batch = absl::GetFlag(FLAGS_batch);
  if (compile.batch <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad --batch ", compile.batch, ": expected a batch size > 0"));
  }
  ASSIGN_OR_RETURN(compile.feed_shapes, ParseFeedShapes(feed_shapes));
  compile.fetches = fetches;
  compile.targets = targets;
  options.compile = std::move(compile);
  return options;
}

absl::StatusOr<std::string> RunDump(const DumpOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, LoadGraph(options.path));
  if (options.compile.has_value()) {
    ASSIGN_OR_RETURN(PlanRequest request, MemoryRequest(*graph, *options.compile));
    SessionOptions session_options;
    session_options.optimization = options.optimization;
    if (options.placement) return DumpPlacement(*graph, request, session_options, options.device);
    std::string text;
    std::function<void(const PassStats&, const Graph&)> observer;
    if (options.passes) {
      observer = [&text](const PassStats& s, const Graph& g) {
        absl::StrAppend(&text, FormatPassHeader(s), "\n", FormatGraphText(g), "\n");
      };
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan,
                     CompilePlanForInspection(*graph, request, session_options, observer));
    if (options.memory) return plan->memory_plan().ToString();
    absl::StrAppend(&text, "passes:\n");
    for (const PassStats& s : plan->pass_stats()) {
      absl::StrAppend(&text, "  ", FormatPassStats(s), "\n");
    }
    absl::StrAppend(&text, "nodes: ", plan->graph().num_nodes(), " in the compiled plan\n");
    return text;
  }
  switch (options.format) {
    case DumpFormat::kText:
      return FormatGraphText(*graph);
    case DumpFormat::kDot:
      return FormatGraphDot(*graph);
  }
  return absl::InternalError("unhandled dump format");
}

}  // namespace sluice
