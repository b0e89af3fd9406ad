"""Stage 1 — inputs: read the files offices make (tables, regions, scenario) and check them."""
