"""Ingestion: watch folders → detect change → parse → chunk → version (into the catalog)."""
