"""Stage 5 — flow: a whole run (one year: `run_plan`; several years: `run_path`) from stages 2–4."""
