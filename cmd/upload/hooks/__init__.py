"""Hooks and durable events: tusd-compatible hook requests (HTTP, Python), `pre-*`
decisions as engine gates, and post-* events delivered at least once from an outbox in
the state store to hook receivers and message brokers. See docs/operations.md."""
