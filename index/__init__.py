"""Index: embed chunks, upsert dense + sparse vectors into Qdrant, aliases and rebuilds,
over the catalog that ingestion fills.
"""
