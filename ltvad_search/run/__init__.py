"""Runners: ingest, the local runner (batches, retries, resume) and the Ray adapter (the only Ray importer)."""
