"""The embedded reader: ships inside the package and answers with no download."""

from __future__ import annotations

from qa.readers.heuristic import HeuristicReader


class EmbeddedReader(HeuristicReader):
    """Offline span reader (rule-based for now; see issue 3 for the learned one)."""

    name = "embedded"
