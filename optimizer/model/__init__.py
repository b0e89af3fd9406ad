"""Stage 2 — model: scores, the high-potential set, pools, rules and the one `prepare` step."""
