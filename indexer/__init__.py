"""Embeddings and FAISS: every stage-1 description becomes searchable by words or by example."""
