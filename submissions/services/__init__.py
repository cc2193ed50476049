"""Services of the submissions app (course outcomes; performances later)."""
