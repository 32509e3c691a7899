// Human-readable renderings of a graph, for `sluice dump`.
#ifndef SLUICE_TOOLS_GRAPH_PRINTER_H_
#define SLUICE_TOOLS_GRAPH_PRINTER_H_

#include <cstdint>
#include <string>

#include "graph/graph.h"

namespace sluice {

// One line per node in topological order, names and ops aligned in columns:
//
//   x            = Placeholder()        : f32[?,784]    {dtype=f32, shape=[?,784]}
//   dense/MatMul = MatMul(x, dense/w)   : f32[?,256]    {T=f32, transpose_a=false, ...}
//
// Inputs print as `node`, `node:1` for later outputs and `^node` for control
// inputs; every output prints its dtype and shape; attributes are sorted by
// name, tensors shown compactly; a device, when set, follows as
// `device=/gpu:0`. A summary follows: the node count, the count of each op
// (sorted by op name), and the parameters held by variables with their size.
//
// A graph with a cycle (possible mid-way through an edit) is still printed,
// in id order, under a first line that names the cycle.
std::string FormatGraphText(const Graph& graph);

// The graph as Graphviz DOT: one box per node labelled with its name and op,
// one edge per data input labelled with the dtype and shape it carries
// (prefixed by `:i` when it reads output i > 0), and a dashed edge per control
// input. Nodes are listed in id order, so equal graphs give equal text.
std::string FormatGraphDot(const Graph& graph);

// Totals over the graph's Variable nodes. Variables whose shape is not fully
// defined cannot be counted; they are reported apart.
struct ParameterCount {
  int64_t variables = 0;
  int64_t parameters = 0;
  int64_t bytes = 0;
  int64_t variables_of_unknown_size = 0;
};
ParameterCount CountParameters(const Graph& graph);

}  // namespace sluice

#endif  // SLUICE_TOOLS_GRAPH_PRINTER_H_
