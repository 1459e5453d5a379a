"""The catalog: one SQLite file (split by table: `clips`, `results`, `ledger`), Parquet shards from a
cluster and their merge, labelled text sets, and the package versions a run records."""

from ltvad_search.catalog.schema import ScoredSegment, StoreError
from ltvad_search.catalog.store import Catalog

__all__ = ["Catalog", "ScoredSegment", "StoreError"]
