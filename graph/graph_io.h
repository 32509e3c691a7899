// Graph files: sluice.proto.GraphDef as binary (.pb) or text (.pbtxt).
#ifndef SLUICE_GRAPH_GRAPH_IO_H_
#define SLUICE_GRAPH_GRAPH_IO_H_

#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
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

// Nodes are written in the graph's topological order (ties by id), attributes
// sorted by name, so equal graphs give identical bytes.
absl::StatusOr<proto::GraphDef> ToGraphDef(const Graph& graph);
// Builds and validates a graph: unknown op, missing/unknown/mistyped attr,
// input naming a missing node or output index, cycle, duplicate name, dtype
// mismatch and shape-function failure are errors naming the node. Nodes may
// appear in any order in the file.
absl::StatusOr<std::unique_ptr<Graph>> FromGraphDef(const proto::GraphDef& graph_def);

absl::StatusOr<std::string> SerializeGraph(const Graph& graph, GraphFileFormat format);
absl::StatusOr<std::unique_ptr<Graph>> ParseGraph(absl::string_view bytes, GraphFileFormat format);

// Saves to `path` (format from the extension), replacing it atomically.
absl::Status SaveGraph(const Graph& graph, const std::string& path);
// Loads from `path` (format from the extension). Unreadable, truncated or
// malformed files are errors naming the path.
absl::StatusOr<std::unique_ptr<Graph>> LoadGraph(const std::string& path);

// Tensor <-> TensorProto. Reading checks the dtype, the shape (no unknown
// dims, no overflow, at most `max_bytes`) and that the data matches the
// element count (a single typed value fills the whole shape).
absl::StatusOr<Tensor> TensorFromProto(const proto::TensorProto& proto,
                                       int64_t max_bytes = int64_t{1} << 32);
void TensorToProto(const Tensor& tensor, proto::TensorProto* proto);

}  // namespace sluice

#endif  // SLUICE_GRAPH_GRAPH_IO_H_
