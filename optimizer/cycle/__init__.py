"""The quarterly cycle: actuals, review against the plan, the in-year re-plan."""
