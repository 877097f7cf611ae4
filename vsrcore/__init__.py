"""vsrcore package."""
