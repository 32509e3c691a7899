// Placeholder so the tree configures; replace whole.
