"""Admin pages: participation."""
