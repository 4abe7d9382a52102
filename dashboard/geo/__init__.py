"""Pure spatial functions: reference geography, radius search, coverage and gaps (no Dash imports)."""
