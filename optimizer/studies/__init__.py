"""Studies on top of runs: sensitivity draws (Dask), what-if, batch runs, synthetic territories."""
