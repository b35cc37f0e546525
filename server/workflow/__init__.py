"""The case workflow: one table of transitions (rules.py) and the service that applies it."""
