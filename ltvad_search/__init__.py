"""ltvad-search: training-free long-tail scenario mining for driving video (LTVAD-AD)."""

__version__ = "0.1.0"
