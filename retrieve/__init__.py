"""Retrieve: hybrid query, fusion, and the snapshot of what was read."""
