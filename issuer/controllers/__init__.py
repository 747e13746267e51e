"""Controllers: one module per cert-manager controller, each a pure `decide(snapshot, now)` -> Outcome."""
