"""Passages and documents saved as JSON Lines beside a byte-offset table, read one record at a time.

A million passages take seconds to parse and gigabytes to hold as objects; a loaded index instead
memory-maps the files and builds a `Passage` or `Document` only when a search returns it.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from retrieval.types import Document, Passage


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> np.ndarray:
    """Write one JSON object a line; return the byte offset of every line and of the end."""
    offsets = [0]
    with path.open("wb") as out:
        for record in records:
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            out.write(line)
            offsets.append(offsets[-1] + len(line))
    return np.asarray(offsets, dtype=np.int64)


class JsonlRecords:
    """The lines of a JSON Lines file, by number, through a memory map and an offset table."""

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        size = path.stat().st_size
        if len(offsets) == 0 or int(offsets[-1]) != size or int(offsets[0]) != 0:
            raise ValueError(f"{path.name} does not match its offset table")
        self._offsets = offsets
        self._map: mmap.mmap | bytes = b""
        if size:
            with path.open("rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def record(self, i: int) -> dict[str, Any]:
        return json.loads(self._map[int(self._offsets[i]) : int(self._offsets[i + 1])])


class StoredPassages(Sequence[Passage]):
    """The passages of a saved index, in index order, parsed on access."""

    def __init__(self, records: JsonlRecords) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, i: int) -> Passage: ...
    @overload
    def __getitem__(self, i: slice) -> list[Passage]: ...
    def __getitem__(self, i: int | slice) -> Passage | list[Passage]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("passage index out of range")
        return Passage.from_dict(self._records.record(i))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]


class StoredDocuments(Mapping[str, Document]):
    """The documents of a saved index by id, parsed on access."""

    def __init__(self, records: JsonlRecords, ids: list[str]) -> None:
        if len(ids) != len(records):
            raise ValueError("document ids do not match the documents file")
        self._records = records
        self._row = {doc_id: row for row, doc_id in enumerate(ids)}

    def __getitem__(self, doc_id: str) -> Document:
        return Document.from_dict(self._records.record(self._row[doc_id]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._row
