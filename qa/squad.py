"""SQuAD v1.1 / v2.0 JSON (ARCD's format), read one way for evaluation, training and benchmarks.

`parse_squad` checks the shape and says in plain words where a file is off; what each caller keeps
(gold questions, training examples, bench texts) is its own business. `locate_answer` finds an
answer by its text, since ARCD's `answer_start` is wrong for some questions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class SquadError(ValueError):
    """The file is not SQuAD JSON; the message names the place."""


@dataclass(frozen=True)
class SquadAnswer:
    text: str  # as given (callers strip)
    start: int | None  # the given answer_start, None when absent or not a number


@dataclass(frozen=True)
class SquadQuestion:
    id: str  # as given, "" when absent
    question: str
    answers: tuple[SquadAnswer, ...]
    impossible: bool  # SQuAD v2's is_impossible


@dataclass(frozen=True)
class SquadParagraph:
    article: int  # index of its article in the file
    index: int  # index within its article
    title: str
    context: str
    questions: tuple[SquadQuestion, ...]


def read_squad(path: Path) -> list[SquadParagraph]:
    """The paragraphs of the SQuAD file at `path`."""
    path = Path(path)
    return parse_squad(path.read_text(encoding="utf-8"), str(path))


def parse_squad(text: str, where: str = "the file") -> list[SquadParagraph]:
    """The paragraphs of SQuAD JSON `text`; `where` names the file in messages."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SquadError(f"{where}, line {err.lineno}: not valid JSON ({err.msg}).") from err
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise SquadError(f'{where}: not a SQuAD v1.1 file (expected an object with a "data" list).')
    paragraphs: list[SquadParagraph] = []
    for a, article in enumerate(articles):
        title = str(article.get("title", "")) if isinstance(article, dict) else ""
        listed = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(listed, list):
            raise SquadError(f'{where}: data[{a}] has no "paragraphs" list.')
        for p, paragraph in enumerate(listed):
            place = f"{where}: data[{a}].paragraphs[{p}]"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not context.strip():
                raise SquadError(f'{place} has no "context" text.')
            questions = tuple(_question(qa, f"{place}.qas[{k}]") for k, qa in enumerate(paragraph.get("qas") or []))
            paragraphs.append(SquadParagraph(a, p, title, context, questions))
    return paragraphs


def locate_answer(context: str, answer: str, start: int | None = None) -> int | None:
    """Where `answer` occurs in `context`, nearest to `start` (ARCD's offsets are sometimes wrong); None if absent."""
    hits = []
    at = context.find(answer)
    while at != -1 and answer:
        hits.append(at)
        at = context.find(answer, at + 1)
    if not hits:
        return None
    if start is None:
        return hits[0]
    return min(hits, key=lambda h: (abs(h - start), h))


def _question(qa: object, place: str) -> SquadQuestion:
    if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
        raise SquadError(f'{place} has no "question".')
    if not isinstance(qa.get("answers"), list):
        # Not silently "unanswerable": SQuAD v2 writes an empty list for those.
        raise SquadError(
            f'{place} has no "answers" list; give its answers, or [] when the paragraph does not answer it.'
        )
    answers = tuple(_answer(a) for a in qa["answers"])
    return SquadQuestion(str(qa.get("id") or ""), qa["question"], answers, bool(qa.get("is_impossible")))


def _answer(answer: object) -> SquadAnswer:
    if not isinstance(answer, dict):
        return SquadAnswer("", None)
    start = answer.get("answer_start")
    return SquadAnswer(str(answer.get("text", "")), start if isinstance(start, int) else None)
