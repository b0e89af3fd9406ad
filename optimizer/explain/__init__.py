"""Stage 4 — explain: infeasibility diagnosis, nearest relaxations and rule prices."""
