"""Retrieve: hybrid query, fusion, and the snapshot of what was read.

Built by the index and retrieval issue.
"""
