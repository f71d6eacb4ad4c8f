"""Readers: find answer spans in passages. All share `read(question, passages) -> list[Answer]`."""

from qa.readers.base import Reader, span_answer

__all__ = ["Reader", "span_answer"]
