// Graph files: sluice.proto.GraphDef as binary (.pb) or text (.pbtxt).
#ifndef SLUICE_GRAPH_GRAPH_IO_H_
#define SLUICE_GRAPH_GRAPH_IO_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "proto/graph.pb.h"

namespace sluice {

// The GraphDef version this build writes; files with a newer version are
// rejected with a message saying so.
inline constexpr int kGraphFormatVersion = 1;

enum class GraphFileFormat { kBinary, kText };

// .pb -> kBinary, .pbtxt -> kText; any other extension is an error naming the
// path.
absl::StatusOr<GraphFileFormat> GraphFileFormatForPath(absl::string_view path);

// Nodes are written in the graph's topological order (ties by id), inputs as
// "name", "name:i" and then "^name" for control inputs, and every attribute,
// so equal graphs give identical bytes. Fails only if the graph has a cycle.
absl::StatusOr<proto::GraphDef> ToGraphDef(const Graph& graph);
// Builds and validates a graph. File-level errors (a newer format version, an
// empty or duplicate name, a malformed input string, an input naming a
// missing node or output, a cycle, an unknown op, an attr of the wrong kind,
// a bad tensor) and everything Graph::AddNode checks (unknown or missing
// attrs, dtype mismatches, shape-function failures) are errors that name the
// node: "node 'y' (MatMul): ...". Nodes may appear in
// any order; a node is added once its inputs are, the earliest in the file
// first, so a file written by ToGraphDef gives the same node ids.
absl::StatusOr<std::unique_ptr<Graph>> FromGraphDef(const proto::GraphDef& graph_def);

// A graph as the bytes of a .pb (deterministic binary) or .pbtxt (protobuf
// text format) file, and back. Parsing refuses inputs over 1 GiB; malformed
// bytes are an error ("not a valid binary GraphDef ..." or, for text, the
// line and column of the first syntax error), never a crash, and nothing is
// printed.
absl::StatusOr<std::string> SerializeGraph(const Graph& graph, GraphFileFormat format);
absl::StatusOr<std::unique_ptr<Graph>> ParseGraph(absl::string_view bytes, GraphFileFormat format);

// Saves to `path` (format from the extension) through a temporary file
// `path.tmp.<pid>` renamed over it, so `path` never holds half a graph.
// Errors name the path.
absl::Status SaveGraph(const Graph& graph, const std::string& path);
// Loads from `path` (format from the extension). A missing file is NotFound;
// every error starts with the path: "model.pbtxt: node 'x' (Neg): ...".
absl::StatusOr<std::unique_ptr<Graph>> LoadGraph(const std::string& path);

// Tensor <-> TensorProto. Writing uses the typed value lists (readable in
// .pbtxt) for at most 16 elements and raw little-endian tensor_content
// otherwise. Reading checks the dtype, the shape (fully defined, no overflow,
// at most `max_bytes`) and the data: tensor_content of exactly the tensor's
// byte size, or values in the dtype's own list (float_val for f32, int_val for
// i8/u8/i32, half_val bit patterns for f16/bf16, ...) numbering one per
// element or a single one that fills the shape.
absl::StatusOr<Tensor> TensorFromProto(const proto::TensorProto& proto,
                                       int64_t max_bytes = int64_t{1} << 32);
void TensorToProto(const Tensor& tensor, proto::TensorProto* proto);

}  // namespace sluice

#endif  // SLUICE_GRAPH_GRAPH_IO_H_
