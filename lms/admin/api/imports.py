"""Admin API: imports."""
