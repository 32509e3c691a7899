// A graph holding at least one node of every registered op, for tests that
// must cover every op (serialisation round trips, dumps).
#ifndef SLUICE_TESTS_EVERY_OP_GRAPH_H_
#define SLUICE_TESTS_EVERY_OP_GRAPH_H_

#include "graph/scope.h"

namespace sluice::testing {

// The root scope of the graph; check scope.ok() in the test.
Scope BuildEveryOpGraph();

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_EVERY_OP_GRAPH_H_
