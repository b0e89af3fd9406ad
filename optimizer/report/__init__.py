"""Stage 6 — report: allocation tables, files (CSV, JSON, XLSX) and the output directory."""
