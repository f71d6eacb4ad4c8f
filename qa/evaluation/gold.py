"""Gold question sets: Sanad's JSON Lines format and SQuAD v1.1 JSON (ARCD, XQuAD)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.squad import SquadError, locate_answer, parse_squad
from retrieval.types import Document

GOLD_FORMATS = ("jsonl", "squad")


class GoldError(Exception):
    """A gold file that cannot be used; the message names the file (and line) and says what to fix."""


@dataclass(frozen=True)
class GoldQuestion:
    """One question; no `answers` means the corpus does not answer it.

    `doc_id` is the document that answers it; for a no-answer it is None in JSON Lines gold, and the
    paragraph asked about in SQuAD files (a SQuAD v2 unanswerable question still has one).
    """

    id: str
    question: str
    answers: tuple[str, ...]
    doc_id: str | None
    line: int = 0

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class GoldSet:
    """The questions of a gold file; SQuAD files also bring their paragraphs as `documents`."""

    path: Path
    format: str
    questions: tuple[GoldQuestion, ...]
    documents: tuple[Document, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def has_unanswerable(self) -> bool:
        return any(not q.answers for q in self.questions)


def load_gold(path: str | Path, fmt: str = "jsonl") -> GoldSet:
    """Read a gold file in `fmt` (jsonl or squad); GoldError for a missing, empty or malformed file."""
    if fmt not in GOLD_FORMATS:
        raise GoldError(f"Unknown gold format {fmt!r}; pass --format jsonl or --format squad.")
    file = Path(path)
    if not file.is_file():
        raise GoldError(f"Gold file not found: {file}.")
    try:
        text = file.read_text("utf-8-sig")
    except UnicodeDecodeError as err:
        raise GoldError(f"{file}: not UTF-8 text ({err.reason} at byte {err.start}). Save it as UTF-8.") from err
    if not text.strip():
        raise GoldError(f"{file} is empty: no questions to evaluate. Add one JSON object a line (jsonl) or a SQuAD file.")
    looks = looks_like(text)
    if looks is not None and looks != fmt:
        raise GoldError(f"{file} looks like {_FORMAT_NAMES[looks]}, not {_FORMAT_NAMES[fmt]}; pass --format {looks}.")
    return _load_jsonl(file, text) if fmt == "jsonl" else _load_squad(file, text)


_FORMAT_NAMES = {"jsonl": "JSON Lines (one question a line)", "squad": 'SQuAD JSON (one object with a "data" list)'}


def looks_like(text: str) -> str | None:
    """The gold format `text` is plainly in ("jsonl" or "squad"), or None when it is neither."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and "data" in whole:
        return "squad"
    first = next(line for line in text.splitlines() if line.strip())
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return None
    return "jsonl" if isinstance(record, dict) and "question" in record else None


def _load_jsonl(file: Path, text: str) -> GoldSet:
    questions: list[GoldQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{file}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise GoldError(f"{where}: not valid JSON ({err.msg}: column {err.colno}).") from err
        question = _question_from(record, where, number)
        if question.id in seen:
            raise GoldError(f"{where}: duplicate id {question.id!r}; every question needs its own id.")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise GoldError(f"{file} has only blank lines: no questions to evaluate.")
    return GoldSet(path=file, format="jsonl", questions=tuple(questions))


_EXPECTED = 'expected {"id": str, "question": str, "answers": [str, ...], "doc_id": str|null}'


def _question_from(record: Any, where: str, number: int) -> GoldQuestion:
    if not isinstance(record, dict):
        raise GoldError(f"{where}: {_EXPECTED}, got {type(record).__name__}.")
    missing = [k for k in ("id", "question", "answers") if k not in record]
    if missing:
        raise GoldError(f"{where}: missing {', '.join(missing)}; {_EXPECTED}.")
    qid, question, answers, doc_id = record["id"], record["question"], record["answers"], record.get("doc_id")
    if not isinstance(qid, (str, int)) or not str(qid).strip():
        raise GoldError(f'{where}: "id" must be a non-empty string.')
    if not isinstance(question, str) or not question.strip():
        raise GoldError(f'{where}: "question" must be a non-empty string.')
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise GoldError(f'{where}: "answers" must be a list of non-empty strings ([] when the corpus does not answer).')
    if doc_id is not None and not isinstance(doc_id, str):
        raise GoldError(f'{where}: "doc_id" must be a string or null.')
    if answers and doc_id is None:
        raise GoldError(f'{where}: an answerable question needs the "doc_id" of the document that answers it.')
    return GoldQuestion(id=str(qid), question=question.strip(), answers=tuple(answers), doc_id=doc_id, line=number)


def _load_squad(file: Path, text: str) -> GoldSet:
    try:
        paragraphs = parse_squad(text, str(file))
    except SquadError as err:
        raise GoldError(str(err)) from err
    questions: list[GoldQuestion] = []
    documents: list[Document] = []
    relocated = missing = 0
    seen: set[str] = set()
    for paragraph in paragraphs:
        context = paragraph.context
        doc_id = f"{paragraph.article}-{paragraph.index}"
        documents.append(Document(id=doc_id, title=paragraph.title, text=context, source=file.name))
        for k, qa in enumerate(paragraph.questions):
            texts: list[str] = []
            for answer in qa.answers:
                answer_text = answer.text.strip()
                if not answer_text or answer_text in texts:
                    continue
                found = locate_answer(context, answer_text, answer.start)
                if found is None:
                    missing += 1
                elif found != answer.start:
                    relocated += 1
                texts.append(answer_text)
            qid = qa.id or f"{doc_id}-{k}"
            if qid in seen:
                qid = f"{qid}-{doc_id}-{k}"
            seen.add(qid)
            questions.append(
                GoldQuestion(id=qid, question=qa.question.strip(), answers=tuple(texts), doc_id=doc_id)
            )
    if not questions:
        raise GoldError(f"{file} has no questions (no paragraph has any qas).")
    problems = []
    if relocated:
        problems.append(f"{file}: {relocated} answers had a wrong answer_start; located by their text instead.")
    if missing:
        problems.append(f"{file}: {missing} answers do not occur in their paragraph; scored by text only.")
    return GoldSet(path=file, format="squad", questions=tuple(questions), documents=tuple(documents), problems=tuple(problems))
