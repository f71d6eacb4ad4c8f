"""Plain-text rendering of answers for the terminal (the bot renders its own HTML)."""

from __future__ import annotations

from qa.types import Answer, Citation

BOLD, UNDERLINE, DIM, RESET = "\033[1m", "\033[4m", "\033[2m", "\033[0m"


def confidence_word(score: float) -> str:
    """عالية / متوسطة / منخفضة, from the answer's combined score."""
    if score >= 0.6:
        return "عالية"
    if score >= 0.35:
        return "متوسطة"
    return "منخفضة"


def mark_answer(citation: Citation, color: bool) -> str:
    """The cited passage with the answer span marked (bold+underline on a terminal, «» brackets otherwise)."""
    text, start, end = citation.passage, citation.start, citation.end
    if start == end:
        return text
    left, right = (BOLD + UNDERLINE, RESET) if color else ("【", "】")
    return text[:start] + left + text[start:end] + right + text[end:]


def citation_heading(citation: Citation) -> str:
    parts = [citation.title or citation.doc_id]
    if citation.source:
        parts.append(citation.source)
    parts.append(citation.doc_id)
    return " — ".join(parts)


def render_answer(answer: Answer, color: bool = False) -> str:
    lines: list[str] = []
    if answer.found:
        head = f"الإجابة: {answer.text}"
        lines.append(BOLD + head + RESET if color else head)
        lines.append(f"الثقة: {confidence_word(answer.score)} ({answer.score:.2f})")
        if answer.citations:
            first = answer.citations[0]
            lines.append(f"المصدر: {citation_heading(first)}")
            lines.append(mark_answer(first, color))
    else:
        lines.append("لم أجد إجابة لهذا السؤال في المستندات.")
        if answer.citations:
            lines.append("أقرب المقاطع:")
            for number, citation in enumerate(answer.citations[:3], start=1):
                lines.append(f"{number}. {citation_heading(citation)}")
                lines.append(f"   {_snippet(citation.passage)}")
    return "\n".join(lines)


def render_passages(citations: list[Citation], color: bool = False) -> str:
    """Every cited passage in full, numbered, with its span marked."""
    blocks = []
    for number, citation in enumerate(citations, start=1):
        blocks.append(f"[{number}] {citation_heading(citation)}\n{mark_answer(citation, color)}")
    return "\n\n".join(blocks) if blocks else "لا توجد مقاطع أخرى."


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + "…"
