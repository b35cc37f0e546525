"""Indicators (the dashboard's numbers) and exports (CSV, GeoJSON, the monthly XLSX)."""
