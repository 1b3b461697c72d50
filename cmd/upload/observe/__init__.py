"""Watching the server: Prometheus metrics, one log line per request, log formats."""
