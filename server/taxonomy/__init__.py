"""Hazard categories and departments (reference data loaded from shared_schemas/data)."""
