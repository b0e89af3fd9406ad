"""The command line (`python -m optimizer`): run, path, validate, sweeps, store, cycle."""
