"""Plain-text rendering of answers for the terminal (the bot renders its own HTML)."""

from __future__ import annotations

import re

from qa.question import NOT_ARABIC_NOTE, is_mostly_latin
from qa.types import Answer, Citation

BOLD, UNDERLINE, DIM, RESET = "\033[1m", "\033[4m", "\033[2m", "\033[0m"
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate … pop directional isolate

# A run of Latin letters or digits, with the punctuation that joins them ("Matthew Miller", "10:30",
# "CNN.com"): left alone at the start of a line, it turns the whole Arabic line left to right, and
# inside one the bidi algorithm may reorder its parts («004_31c9» shown as «31c9_004»).
# A command's slash belongs to it («/help»).
_LTR_RUN = re.compile(
    r"/?[A-Za-z0-9\u00C0-\u024F](?:[A-Za-z0-9\u00C0-\u024F.,:;/%_+\-'’@#&() ]*[A-Za-z0-9\u00C0-\u024F%)])?"
)
_SENTENCE_END = re.compile(r"[.!?؟…۔\n]")


def isolate(text: str) -> str:
    """`text` with each Latin/digit run wrapped in U+2068 … U+2069, so Arabic lines stay right to left."""
    return _LTR_RUN.sub(_isolated, text)


def _isolated(match: re.Match[str]) -> str:
    run, tail = match.group(0), ""
    if run.endswith(")") and run.count("(") < run.count(")"):  # «(أو Ctrl-D)»: the bracket is the Arabic's
        run, tail = run[:-1], ")"
    return f"{FSI}{run}{PDI}{tail}"


def sentence_around(citation: Citation, limit: int = 320) -> tuple[str, int, int]:
    """The sentence of the citation's passage that holds its span, and the span's offsets in it.

    A sentence longer than `limit` characters is cut to about `limit` around the span ("…" marks a cut).
    """
    text, start, end = citation.passage, citation.start, citation.end
    ends_before = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    left = ends_before[-1] if ends_before else 0
    after = _SENTENCE_END.search(text, end)
    right = after.end() if after else len(text)
    while left < start and text[left].isspace():
        left += 1
    while right > end and text[right - 1].isspace():
        right -= 1
    prefix = suffix = ""
    room = max(0, limit - (end - start)) // 2
    if start - left > room:
        cut = text.find(" ", start - room, start)
        left, prefix = (cut + 1 if cut >= 0 else start - room), "…"
    if right - end > room:
        cut = text.rfind(" ", end, end + room)
        right, suffix = (cut if cut >= 0 else end + room), "…"
    sentence = prefix + text[left:right] + suffix
    offset = len(prefix) - left
    return sentence, start + offset, end + offset


def confidence_word(score: float, threshold: float) -> str:
    """عالية / متوسطة / منخفضة, from the answer's combined score and the no-answer threshold it passed.

    A shown answer scores between `threshold` and 1; the bands are that range's thirds, so each word can
    show whatever the threshold (fixed bands below a threshold could never be reached).
    """
    third = (1.0 - threshold) / 3
    if score >= threshold + 2 * third:
        return "عالية"
    if score >= threshold + third:
        return "متوسطة"
    return "منخفضة"


def mark_answer(citation: Citation, color: bool) -> str:
    """The cited passage with the answer span marked (bold+underline on a terminal, 【】 brackets otherwise)."""
    return _mark(citation.passage, citation.start, citation.end, color)


def title_and_source(citation: Citation) -> str:
    """Title and source; the document id goes on a line of its own (`id_line`), where it cannot scramble them."""
    parts = [citation.title or citation.doc_id]
    if citation.source:
        parts.append(citation.source)
    return " — ".join(parts)


def id_line(citation: Citation) -> str:
    return f"المعرّف: {citation.doc_id}"


def render_answer(answer: Answer, threshold: float, color: bool = False) -> str:
    lines: list[str] = []
    if answer.found:
        head = f"الإجابة: {answer.text}"
        lines.append(BOLD + head + RESET if color else head)
        lines.append(f"الثقة: {confidence_word(answer.score, threshold)} ({answer.score:.2f})")
        if answer.citations:
            first = answer.citations[0]
            lines.append(f"المصدر: {title_and_source(first)}")
            lines.append(id_line(first))
            lines.append(mark_answer(first, color))
    else:
        lines.append("لم أجد إجابة لهذا السؤال في المستندات.")
        if answer.citations:
            lines.append("أقرب المقاطع:")
            for number, citation in enumerate(answer.citations[:3], start=1):
                lines.append(f"{number}. {title_and_source(citation)}")
                lines.append(f"   {id_line(citation)}")
                lines.append(f"   {_snippet(citation.passage)}")
    if is_mostly_latin(answer.question):
        lines += ["", NOT_ARABIC_NOTE]
    return "\n".join(lines)


def render_sources(citations: list[Citation], color: bool = False) -> str:
    """Other documents' passages (Pipeline.more), numbered: heading, id, and the sentence with its span
    marked, or the passage's opening when it has no span (a no-answer's)."""
    blocks = []
    for number, citation in enumerate(citations, start=1):
        if citation.start < citation.end:
            sentence, start, end = sentence_around(citation)
            body = _mark(sentence, start, end, color)
        else:
            body = _snippet(citation.passage, 320)
        blocks.append(f"[{number}] {title_and_source(citation)}\n{id_line(citation)}\n{body}")
    return "\n\n".join(blocks) if blocks else "لا توجد مصادر أخرى."


def _mark(text: str, start: int, end: int, color: bool) -> str:
    if start == end:
        return text
    left, right = (BOLD + UNDERLINE, RESET) if color else ("【", "】")
    return text[:start] + left + text[start:end] + right + text[end:]


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + "…"
