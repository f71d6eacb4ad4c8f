"""Retrieval: Arabic normalization, corpus loading and chunking, and the BM25 passage index."""
