"""Stage 3 — solve: the one solver backend (HiGHS, CBC fallback), exact polish, rounding, checks."""
