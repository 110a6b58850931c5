"""passes: see the parent package."""
