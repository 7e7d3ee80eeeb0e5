"""Admin API: participation."""
