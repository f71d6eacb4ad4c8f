"""Load a corpus: a folder of UTF-8 `.txt` articles and/or JSON Lines files of `{id, title, text, source}`.

Bad files never stop a load: each one is skipped with a plain-words problem report, and the caller
decides what to show. Nothing here writes to the corpus.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.clean import clean_article, first_sentence_title, looks_like_html, strip_markup
from retrieval.types import Document

log = logging.getLogger(__name__)

# A news article is a few KB; anything far larger is almost certainly not one (a dump, a binary).
MAX_FILE_BYTES = 20 * 1024 * 1024
# Shares of a file's letters in Arabic script (`arabic_share`). Almost any bytes decode as Windows-1256, so that
# reading is kept only when most letters come out Arabic: a file in another encoding does not.
CP1256_MIN_ARABIC_SHARE = 0.5
# Below this a file gets the "mostly not Arabic" warning; lower than half, so that an Arabic article full of
# Latin names, quotes and links is not warned about.
NOT_ARABIC_BELOW = 0.3
_ARABIC_RANGE = range(0x0600, 0x0700)


class CorpusError(Exception):
    """The corpus as a whole cannot be used (missing folder, no usable document)."""


@dataclass
class Corpus:
    documents: list[Document]
    problems: list[str] = field(default_factory=list)


def load_corpus(path: str | Path) -> Corpus:
    """Every usable document under `path` (a folder, a `.txt` file or a `.jsonl` file), sorted by id."""
    root = Path(path)
    if not root.exists():
        raise CorpusError(f"Corpus not found: {root}. Pass --corpus with a folder of .txt or .jsonl files.")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix in {".txt", ".jsonl"})
    corpus = Corpus(documents=[])
    for file in files:
        if file.stat().st_size > MAX_FILE_BYTES:
            corpus.problems.append(f"{file}: skipped, larger than {MAX_FILE_BYTES // 2**20} MB.")
            continue
        text = _read_text(file, corpus.problems)
        if text is None:
            continue
        if file.suffix == ".jsonl":
            corpus.documents.extend(_jsonl_documents(file, text, corpus.problems))
        elif doc := _txt_document(file, text, corpus.problems):
            corpus.documents.append(doc)
    _drop_duplicate_ids(corpus)
    if not corpus.documents:
        detail = "; ".join(corpus.problems[:3])
        raise CorpusError(f"No usable document in {root}." + (f" {detail}" if detail else ""))
    corpus.documents.sort(key=lambda d: d.id)
    return corpus


def arabic_share(text: str) -> float:
    """Share of letters that are Arabic script, for the non-Arabic warning."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(ord(c) in _ARABIC_RANGE for c in letters) / len(letters)


def _read_text(file: Path, problems: list[str]) -> str | None:
    data = file.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Older Arabic sites and Windows tools save in Windows-1256; accept it only if it reads as Arabic.
    try:
        text = data.decode("cp1256")
    except UnicodeDecodeError:
        text = ""
    if text and arabic_share(text) > CP1256_MIN_ARABIC_SHARE:
        problems.append(f"{file}: not UTF-8; read as Windows-1256 (Arabic). Save it as UTF-8 to silence this.")
        return text
    problems.append(f"{file}: skipped, not UTF-8 text (is it binary or in another encoding?).")
    return None


def _txt_document(file: Path, raw: str, problems: list[str]) -> Document | None:
    article = clean_article(raw)
    if not article.text.strip():
        problems.append(f"{file}: skipped, empty (no article text).")
        return None
    _warn_if_not_arabic(str(file), article.text, problems)
    return Document(
        id=file.stem,
        title=article.title or first_sentence_title(article.text),
        text=article.text,
        source=article.source,
        meta={"path": str(file), **article.meta},
    )


def is_question_set(text: str) -> bool:
    """A JSON Lines file of gold questions (`{"question", "answers"}`), which lives beside the articles."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and "question" in record and "answers" in record and "text" not in record


def _jsonl_documents(file: Path, text: str, problems: list[str]) -> list[Document]:
    if is_question_set(text):
        log.debug("%s is a question set, not documents; not indexed", file)
        return []
    docs: list[Document] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{file}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append(f"{where}: record skipped, not valid JSON ({err.msg}: column {err.colno}).")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str) or "id" not in record:
            problems.append(f'{where}: record skipped, it needs an object with "id" and "text".')
            continue
        body = record["text"]
        if looks_like_html(body):
            body = strip_markup(body)
        if not body.strip():
            problems.append(f"{where}: record skipped, empty text.")
            continue
        _warn_if_not_arabic(where, body, problems)
        docs.append(
            Document(
                id=str(record["id"]),
                title=str(record.get("title") or first_sentence_title(body)),
                text=body,
                source=str(record.get("source") or ""),
                meta={"path": str(file), "line": str(number)},
            )
        )
    return docs


def _warn_if_not_arabic(where: str, text: str, problems: list[str]) -> None:
    if arabic_share(text) < NOT_ARABIC_BELOW:
        problems.append(f"{where}: mostly not Arabic; indexed anyway, but Arabic questions will rarely match it.")


def _drop_duplicate_ids(corpus: Corpus) -> None:
    first: dict[str, Document] = {}
    unique: list[Document] = []
    for doc in corpus.documents:
        if doc.id in first:
            corpus.problems.append(
                f"{_where(doc)}: {'record' if 'line' in doc.meta else 'file'} skipped, its document id {doc.id!r} "
                f"is already taken by {_where(first[doc.id])}."
            )
            continue
        first[doc.id] = doc
        unique.append(doc)
    corpus.documents = unique


def _where(doc: Document) -> str:
    """The file (and line, for a JSON Lines record) a document comes from."""
    path = doc.meta.get("path", "?")
    return f"{path}, line {doc.meta['line']}" if "line" in doc.meta else path
