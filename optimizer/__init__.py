"""Allocate sales headcount and budget across regions (weighted proportional fairness, exact LP)."""

__version__ = "0.1.0"
