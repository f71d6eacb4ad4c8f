"""`sanad bench scale`: `sanad serve` in one process beside `sanad serve --ray` with 1 or 2 index shards and
1 or 2 reader replicas, over one synthetic corpus, with the same clients asking the same questions.

Each layout is a fresh server child started as a user starts it; Ray runs local to that child and is
stopped with it. Beside throughput and latency, the memory of the server's processes by role (shard
replicas, reader replicas, the rest), from which the README projects larger corpora.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from qa.bench.corpus import synthetic_corpus
from qa.bench.measure import machine
from qa.bench.serve import _level, _warm_up, launched
from retrieval.types import Document

# Layouts: "single" (`sanad serve`) or SHARDSxREADERS (`sanad serve --ray --shards S --readers R`).
DEFAULT_LAYOUTS = ("single", "1x1", "2x1", "1x2", "2x2")
_LAYOUT = re.compile(r"^(single|([1-9][0-9]*)x([1-9][0-9]*))$")
# Documents per corpus file: the corpus loader skips files over 20 MB.
_DOCUMENTS_PER_FILE = 2_000
_ROLES = {"shard": "ServeReplica:sanad:shard-", "reader": "ServeReplica:sanad:reader", "ingress": "ServeReplica:sanad:ingress"}


def parse_layout(text: str) -> tuple[int, int] | None:
    """None for "single", else (shards, readers); ValueError for anything else."""
    match = _LAYOUT.match(text.strip())
    if match is None:
        raise ValueError(f"unknown layout {text!r}: use single or SHARDSxREADERS, e.g. 2x1")
    return None if match.group(1) == "single" else (int(match.group(2)), int(match.group(3)))


def bench_scale(
    passages: int, seconds: float, clients: int, reader: str, layouts: Sequence[str], workdir: Path | None
) -> dict[str, Any]:
    """For each layout, a fresh server over the same synthetic corpus and `seconds` of `clients` clients."""
    corpus = synthetic_corpus(passages, 200)
    results = []
    with tempfile.TemporaryDirectory(prefix="sanad-bench-scale-", dir=workdir) as base:
        folder = Path(base) / "corpus"
        write_corpus(corpus.documents, folder)
        for layout in layouts:
            shape = parse_layout(layout)
            options = ["--index", str(Path(base) / "index")] if shape is None else [
                "--ray", "--shards", str(shape[0]), "--readers", str(shape[1]), "--index", str(Path(base) / f"shards-{shape[0]}")
            ]  # fmt: skip
            with launched(reader, folder, Path(base), options, f"serve-{layout}") as (url, child):
                asyncio.run(_warm_up(url, corpus.questions[0]))
                figures = asyncio.run(_level(url, clients, seconds, corpus.questions))
                figures["memory_mb"] = memory_by_role(child.pid)
                descendants = _descendants(child.pid)
            _stop_leftovers(descendants)
            results.append({"layout": layout, "shards": shape[0] if shape else 0, "readers": shape[1] if shape else 0,
                            **figures})  # fmt: skip
    return {
        "benchmark": "scale",
        "machine": machine(),
        "passages_generated": passages,
        "reader": reader,
        "clients": clients,
        "seconds_per_layout": seconds,
        "layouts": results,
        "every_request_one_well_formed_response": all(r["one_well_formed_response_each"] for r in results),
    }


def write_corpus(documents: Sequence[Document], folder: Path) -> None:
    """`documents` as a corpus folder of JSON Lines files (each under the loader's size limit)."""
    folder.mkdir(parents=True)
    for first in range(0, len(documents), _DOCUMENTS_PER_FILE):
        lines = (json.dumps({"id": d.id, "title": d.title, "text": d.text, "source": d.source}, ensure_ascii=False)
                 for d in documents[first : first + _DOCUMENTS_PER_FILE])  # fmt: skip
        (folder / f"part-{first // _DOCUMENTS_PER_FILE:05d}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")


def memory_by_role(pid: int) -> dict[str, float]:
    """Resident memory (MB) of the server process and its descendants, summed by role (shard replicas,
    reader replicas, ingress, the rest: the server process itself and Ray's own processes)."""
    totals = {"shard": 0.0, "reader": 0.0, "ingress": 0.0, "rest": 0.0, "total": 0.0}
    per_shard: list[float] = []
    for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            rss = process.memory_info().rss / 2**20
            command = " ".join(process.cmdline())
        except psutil.Error:
            continue
        role = next((name for name, mark in _ROLES.items() if mark in command), "rest")
        totals[role] += rss
        totals["total"] += rss
        if role == "shard":
            per_shard.append(rss)
    totals = {k: round(v, 1) for k, v in totals.items()}
    totals["largest_shard"] = round(max(per_shard), 1) if per_shard else 0.0
    return totals


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _stop_leftovers(processes: Sequence[psutil.Process]) -> None:
    """Ray's processes that outlived the server child (it is stopped, they should be gone): ended by id."""
    alive = [p for p in processes if p.is_running()]
    for process in alive:
        try:
            process.terminate()
        except psutil.Error:
            pass
    _, still = psutil.wait_procs(alive, timeout=15)
    for process in still:
        try:
            process.kill()
        except psutil.Error:
            pass
