"""The primitives, grouped by kind; ``core.REGISTRY`` maps MXNet operator names to them."""
