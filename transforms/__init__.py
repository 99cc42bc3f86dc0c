"""newsbeam's PTransforms, one module per concern."""
