"""Evaluation against a gold question set: load gold, run the pipeline or the reader, score, report."""
