"""degradation package."""
