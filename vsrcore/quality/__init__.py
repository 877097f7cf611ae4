"""No-reference quality measures needing no downloaded weights (shared by benchmark and curation)."""
