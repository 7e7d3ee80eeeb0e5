"""Admin API: audit."""
