// Placeholder so the tree configures until graph files land; replace whole.
#include "graph/graph_io.h"
