// End-to-end tests of `sluice dump`: they run the real binary (SLUICE_BIN) on
// graphs saved by the library and on hand-broken files.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/cli_test_util.h"
#include "graph/graph_io.h"
#include "graph/ops/state.h"
#include "graph/scope.h"

extern char** environ;

namespace sluice {
namespace {

using testing::HasLine;
using testing::Lines;
using testing::ReadFile;
using testing::RunResult;
using testing::RunSluice;
using testing::TempDir;
using testing::WriteFile;

// A small dense layer plus a large, separately initialised variable:
//   x [?,4] -> MatMul(x, dense/w [4,3]) + dense/b [3]
//   embedding [1000,1000], initialised from a placeholder
//   init: runs the three Assign initialisers
std::unique_ptr<Graph> BuildTestGraph() {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x").WithDevice("/cpu:0"), DType::kF32, Shape{-1, 4});
  Scope dense = root.NewSubScope("dense");
  Output w =
      Variable(dense.WithOpName("w"), Shape{4, 3}, DType::kF32,
               Const(dense.WithOpName("w_init"), {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}}));
  Output b = Variable(dense.WithOpName("b"), Shape{3}, DType::kF32,
                      Const(dense.WithOpName("b_init"), {0.5f, 0.5f, 0.5f}));
  Output product = AddOp(dense, "MatMul", {x, w});
  AddOp(dense, "Add", {product, b});
  Variable(root.WithOpName("embedding"), Shape{1000, 1000}, DType::kF32,
           Placeholder(root.WithOpName("embedding_init"), DType::kF32, Shape{1000, 1000}));
  Graph* graph = root.graph();
  std::vector<Node*> initializers;
  for (const char* name : {"dense/w/Assign", "dense/b/Assign", "embedding/Assign"}) {
    initializers.push_back(graph->FindNode(name));
  }
  NoOp(root.WithOpName("init").WithControlDependencies(initializers));
  REQUIRE(root.ok());
  return graph->Clone();
}

// Saves the test graph as .pbtxt and .pb in a temp dir.
struct SavedGraph {
  TempDir dir;
  std::string text_path = dir.Path("model.pbtxt");
  std::string binary_path = dir.Path("model.pb");

  SavedGraph() {
    std::unique_ptr<Graph> graph = BuildTestGraph();
    const absl::Status text_saved = SaveGraph(*graph, text_path);
    INFO(text_saved.message());
    REQUIRE(text_saved.ok());
    const absl::Status binary_saved = SaveGraph(*graph, binary_path);
    INFO(binary_saved.message());
    REQUIRE(binary_saved.ok());
  }
};

// Every failure: a non-zero exit, nothing on stdout, exactly one line on
// stderr starting `sluice dump: ` that contains each of `needles`.
void CheckDumpError(const RunResult& result, int exit_code,
                    const std::vector<std::string>& needles) {
  INFO("stdout: " << result.out);
  INFO("stderr: " << result.err);
  CHECK(result.signal == 0);
  CHECK(result.exit_code == exit_code);
  CHECK(result.out.empty());
  REQUIRE(Lines(result.err).size() == 1);
  CHECK(result.err.back() == '\n');
  CHECK(result.err.rfind("sluice dump: ", 0) == 0);
  for (const std::string& needle : needles) {
    INFO("expected in stderr: " << needle);
    CHECK(result.err.find(needle) != std::string::npos);
  }
}

TEST_CASE("dump prints one aligned line per node in topological order and a summary") {
  SavedGraph saved;
  const RunResult result = RunSluice({"dump", saved.text_path});
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.err.empty());
  const std::string& out = result.out;
  INFO(out);

  // Columns pad to their longest entry (embedding/Assign, the embedding
  // Assign call, f32[1000,1000]); the NoOp's long input list overflows its
  // column instead of widening it.
  CHECK(HasLine(out,
                "x                = Placeholder()                     : f32[?,4]        "
                "{dtype=f32, shape=[?,4]}  device=/cpu:0"));
  CHECK(HasLine(out,
                "dense/w_init     = Const()                           : f32[4,3]        "
                "{dtype=f32, value=[1, 2, 3, ..., 10, 11, 12]}"));
  CHECK(HasLine(out,
                "dense/b_init     = Const()                           : f32[3]          "
                "{dtype=f32, value=[0.5, 0.5, 0.5]}"));
  CHECK(HasLine(out,
                "dense/w          = Variable()                        : f32[4,3]        "
                "{dtype=f32, initializer=\"dense/w/Assign\", shape=[4,3], trainable=true}"));
  CHECK(HasLine(out,
                "dense/w/Assign   = Assign(dense/w, dense/w_init)     : f32[4,3]        "
                "{T=f32, use_locking=false, validate_shape=true}"));
  CHECK(HasLine(out,
                "embedding        = Variable()                        : f32[1000,1000]  "
                "{dtype=f32, initializer=\"embedding/Assign\", shape=[1000,1000], "
                "trainable=true}"));
  CHECK(HasLine(
      out, "init             = NoOp(^dense/w/Assign, ^dense/b/Assign, ^embedding/Assign) : ()"));
  // MatMul and Add belong to the math family; their attributes are checked
  // only as far as this test relies on them.
  CHECK(out.find("\ndense/MatMul     = MatMul(x, dense/w)                : f32[?,3]        "
                 "{T=f32, ") != std::string::npos);
  CHECK(out.find("transpose_a=false, transpose_b=false") != std::string::npos);
  CHECK(out.find("\ndense/Add        = Add(dense/MatMul, dense/b)        : f32[?,3]") !=
        std::string::npos);

  // Every node follows its inputs.
  const std::vector<std::string> lines = Lines(out);
  auto line_of = [&](const std::string& name) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].rfind(name + " ", 0) == 0) return static_cast<int>(i);
    }
    FAIL("no line for node " << name);
    return -1;
  };
  CHECK(line_of("dense/w_init") < line_of("dense/w"));
  CHECK(line_of("dense/w") < line_of("dense/MatMul"));
  CHECK(line_of("x") < line_of("dense/MatMul"));
  CHECK(line_of("dense/MatMul") < line_of("dense/Add"));
  CHECK(line_of("embedding/Assign") < line_of("init"));

  // The summary: a blank line, then counts per op sorted by name, aligned.
  const std::string summary =
      "\n"
      "nodes: 13\n"
      "  Add:         1\n"
      "  Assign:      3\n"
      "  Const:       2\n"
      "  MatMul:      1\n"
      "  NoOp:        1\n"
      "  Placeholder: 2\n"
      "  Variable:    3\n"
      "parameters: 1,000,015 in 3 variables (4,000,060 bytes, 3.8 MiB)\n";
  REQUIRE(out.size() >= summary.size());
  CHECK(out.substr(out.size() - summary.size()) == summary);
  CHECK(lines.size() == 13 + 1 + 9);
}

TEST_CASE("dump prints the same text for the binary and the text file") {
  SavedGraph saved;
  const RunResult text = RunSluice({"dump", saved.text_path});
  const RunResult binary = RunSluice({"dump", saved.binary_path});
  REQUIRE(text.exit_code == 0);
  REQUIRE(binary.exit_code == 0);
  CHECK(binary.err.empty());
  CHECK(binary.out == text.out);
}

TEST_CASE("dump --format dot prints a Graphviz digraph") {
  SavedGraph saved;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"dump", saved.binary_path, "--format=dot"},
        std::vector<std::string>{"dump", "--format", "dot", saved.binary_path},
        std::vector<std::string>{"dump", "-format=dot", saved.binary_path}}) {
    const RunResult result = RunSluice(args);
    INFO("args: " << args[1] << " " << args[2]);
    INFO("stderr: " << result.err);
    REQUIRE(result.exit_code == 0);
    CHECK(result.err.empty());
    const std::string& out = result.out;
    INFO(out);
    CHECK(out.rfind("digraph sluice {\n", 0) == 0);
    CHECK(out.size() >= 2);
    CHECK(out.substr(out.size() - 2) == "}\n");
    CHECK(out.find("  \"dense/MatMul\" [label=\"dense/MatMul\\nMatMul\"];\n") != std::string::npos);
    CHECK(out.find("  \"x\" [label=\"x\\nPlaceholder\", shape=ellipse, tooltip=\"/cpu:0\"];\n") !=
          std::string::npos);
    CHECK(out.find("  \"x\" -> \"dense/MatMul\" [label=\"f32[?,4]\"];\n") != std::string::npos);
    CHECK(out.find("  \"dense/w\" -> \"dense/MatMul\" [label=\"f32[4,3]\"];\n") !=
          std::string::npos);
    CHECK(out.find("  \"dense/MatMul\" -> \"dense/Add\" [label=\"f32[?,3]\"];\n") !=
          std::string::npos);
    CHECK(out.find("  \"embedding/Assign\" -> \"init\" [style=dashed];\n") != std::string::npos);
    // One edge per data input (2 per Assign, 2 for MatMul, 2 for Add) and
    // one per control input (3 into init).
    size_t edges = 0;
    for (size_t at = out.find(" -> "); at != std::string::npos; at = out.find(" -> ", at + 1)) {
      ++edges;
    }
    CHECK(edges == 3 * 2 + 2 + 2 + 3);
  }
}

TEST_CASE("dump quotes names that need escaping in DOT") {
  TempDir dir;
  Scope root = Scope::NewRootScope();
  Output quoted = Placeholder(root.WithOpName("say \"hi\"\\now"), DType::kF32, Shape{2});
  Identity(root.WithOpName("copy"), quoted);
  REQUIRE(root.ok());
  const std::string path = dir.Path("quoted.pbtxt");
  REQUIRE(SaveGraph(*root.graph(), path).ok());
  const RunResult result = RunSluice({"dump", path, "--format=dot"});
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("  \"say \\\"hi\\\"\\\\now\" -> \"copy\" [label=\"f32[2]\"];\n") !=
        std::string::npos);
}

TEST_CASE("dump reports a file it cannot load on one line, naming the file") {
  SavedGraph saved;
  TempDir& dir = saved.dir;

  SECTION("missing file") {
    const std::string path = dir.Path("absent.pb");
    CheckDumpError(RunSluice({"dump", path}), 1, {path});
  }
  SECTION("truncated binary file") {
    const std::string bytes = ReadFile(saved.binary_path);
    REQUIRE(bytes.size() > 100);
    const std::string path = dir.Path("truncated.pb");
    WriteFile(path, bytes.substr(0, bytes.size() / 2));
    CheckDumpError(RunSluice({"dump", path}), 1, {path});
  }
  SECTION("text file with a syntax error") {
    const std::string path = dir.Path("syntax.pbtxt");
    WriteFile(path, "node {\n  name: \"x\"\n  op: \"Placeholder\"\n  attr {\n");
    CheckDumpError(RunSluice({"dump", path}), 1, {path});
  }
  SECTION("unknown op") {
    const std::string path = dir.Path("unknown_op.pbtxt");
    WriteFile(path,
              "node { name: \"x\" op: \"Placeholder\" attr { key: \"dtype\" value { type: "
              "DT_FLOAT } } }\n"
              "node { name: \"blend\" op: \"Frobnicate\" input: \"x\" }\n"
              "version: 1\n");
    CheckDumpError(RunSluice({"dump", path}), 1, {path, "blend", "Frobnicate"});
  }
  SECTION("input naming a missing node") {
    const std::string path = dir.Path("missing_input.pbtxt");
    WriteFile(path,
              "node { name: \"x\" op: \"Placeholder\" attr { key: \"dtype\" value { type: "
              "DT_FLOAT } } }\n"
              "node { name: \"copy\" op: \"Identity\" input: \"ghost\" "
              "attr { key: \"T\" value { type: DT_FLOAT } } }\n"
              "version: 1\n");
    CheckDumpError(RunSluice({"dump", path}), 1, {path, "copy", "ghost"});
  }
  SECTION("extension that is neither .pb nor .pbtxt") {
    const std::string path = dir.Path("model.txt");
    WriteFile(path, ReadFile(saved.text_path));
    CheckDumpError(RunSluice({"dump", path}), 1, {path});
  }
  SECTION("a directory") {
    const std::string path = dir.Path("folder.pb");
    std::filesystem::create_directory(path);
    CheckDumpError(RunSluice({"dump", path}), 1, {path});
  }
}

TEST_CASE("dump reports usage errors on one line with exit code 2") {
  SavedGraph saved;

  SECTION("unknown flag") {
    CheckDumpError(RunSluice({"dump", saved.text_path, "--frmat=dot"}), 2,
                   {"unknown flag '--frmat'", "--format"});
  }
  SECTION("a flag of no command") {
    CheckDumpError(RunSluice({"dump", "--flagfile=/etc/passwd", saved.text_path}), 2,
                   {"unknown flag '--flagfile'"});
  }
  SECTION("bad --format value") {
    CheckDumpError(RunSluice({"dump", saved.text_path, "--format=svg"}), 2,
                   {"--format", "'svg'", "text or dot"});
  }
  SECTION("--format without a value") {
    CheckDumpError(RunSluice({"dump", saved.text_path, "--format"}), 2,
                   {"flag '--format' needs a value"});
  }
  SECTION("missing FILE") {
    CheckDumpError(RunSluice({"dump"}), 2, {"missing FILE", "sluice dump FILE"});
    CheckDumpError(RunSluice({"dump", "--format=dot"}), 2, {"missing FILE"});
  }
  SECTION("more than one FILE") {
    CheckDumpError(RunSluice({"dump", saved.text_path, saved.binary_path}), 2,
                   {"unexpected argument '" + saved.binary_path + "'"});
  }
}

TEST_CASE("sluice without a known command prints usage or one error line") {
  SECTION("unknown command") {
    const RunResult result = RunSluice({"frobnicate", "model.pb"});
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    CHECK(result.err == "sluice: unknown command 'frobnicate' (expected dump, run or train)\n");
  }
  SECTION("no command: usage on stderr") {
    const RunResult result = RunSluice({});
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    CHECK(result.err.rfind("usage: sluice <command> [args]\n", 0) == 0);
    CHECK(result.err.find("sluice dump FILE [--format text|dot]") != std::string::npos);
  }
  SECTION("help on stdout") {
    for (const char* help : {"help", "--help", "-h"}) {
      const RunResult result = RunSluice({help});
      INFO(help);
      CHECK(result.exit_code == 0);
      CHECK(result.err.empty());
      CHECK(result.out.rfind("usage: sluice <command> [args]\n", 0) == 0);
      CHECK(result.out.find("\n  sluice dump FILE [--format text|dot]\n") != std::string::npos);
    }
  }
  SECTION("help for dump") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"help", "dump"}, std::vector<std::string>{"dump", "--help"}}) {
      const RunResult result = RunSluice(args);
      CHECK(result.exit_code == 0);
      CHECK(result.err.empty());
      CHECK(result.out.rfind("usage: sluice dump FILE [--format text|dot]\n", 0) == 0);
      CHECK(result.out.find("  --format  ") != std::string::npos);
      CHECK(result.out.find("(default: text)") != std::string::npos);
    }
  }
  SECTION("help for an unknown command") {
    const RunResult result = RunSluice({"help", "frobnicate"});
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    CHECK(result.err == "sluice help: unknown command 'frobnicate' (expected dump, run or train)\n");
  }
}

}  // namespace
}  // namespace sluice
