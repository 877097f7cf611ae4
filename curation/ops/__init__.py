"""Pure functions behind the curation stages (no Ray): tests call them on synthetic videos."""
