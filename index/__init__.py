"""Index: embed chunks, upsert dense + sparse vectors into Qdrant, aliases and rebuilds.

Built by the index issue, on the catalog that ingestion fills.
"""
