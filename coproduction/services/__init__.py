"""Writes on co-production: one module per concept, each service in its own transaction."""
