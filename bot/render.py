"""The bot's messages as Telegram HTML: escaped, right-to-left safe, and split to Telegram's length limit."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from telegram.constants import MessageLimit

from qa.question import NOT_ARABIC_NOTE, is_mostly_latin
from qa.render import confidence_word, isolate, sentence_around
from qa.types import Answer, Citation

MAX_MESSAGE_CHARS = int(MessageLimit.MAX_TEXT_LENGTH)
SNIPPET_CONTEXT = 120
_SENTENCE_END = frozenset(".!?؟…۔;؛")


def esc(text: str) -> str:
    """Corpus or user text, safe inside Telegram HTML and direction-isolated."""
    return html.escape(isolate(text), quote=False)


def answer_message(answer: Answer, threshold: float) -> str:
    """The reply to a question: the answer or, when there is none, the closest passages' titles.

    A question not in Arabic also gets a note, in Arabic and English, that the documents are Arabic.
    """
    note = ["", esc(NOT_ARABIC_NOTE)] if is_mostly_latin(answer.question) else []
    if not answer.found:
        return "\n".join([no_answer_message(answer), *note])
    lines = [f"<b>{esc(answer.text or '')}</b>", f"الثقة: {confidence_word(answer.score, threshold)}"]
    if answer.citations:
        first = answer.citations[0]
        lines += ["", *citation_heading(first), f"«{snippet(first)}»"]
    return "\n".join([*lines, *note])


def no_answer_message(answer: Answer) -> str:
    lines = ["لم أجد في المستندات إجابة عن هذا السؤال."]
    titles = closest_titles(answer.citations)
    if titles:
        lines += ["", "أقرب المقاطع إلى سؤالك:"]
        lines += [f"• {esc(title)}" for title in titles]
    return "\n".join(lines)


def full_passage_message(answer: Answer) -> str:
    """The whole first cited passage, with the answer highlighted."""
    if not answer.citations:
        return "لا يوجد نص لهذه الإجابة."
    first = answer.citations[0]
    return "\n".join([*citation_heading(first), "", highlighted(first)])


def other_sources_message(answer: Answer, others: Sequence[Citation]) -> str:
    """Other documents' passages (Pipeline.more): title and source, then the sentence with the span marked,
    or for a passage without a span (a no-answer's) the passage's opening."""
    if not others:
        return "لا توجد مصادر أخرى لهذه الإجابة."
    blocks = ["<b>مصادر أخرى</b>"]
    for number, citation in enumerate(others, start=1):
        if citation.start < citation.end:
            sentence, start, end = sentence_around(citation)
            quote = f"{esc(sentence[:start])}<b><u>{esc(sentence[start:end])}</u></b>{esc(sentence[end:])}"
        else:
            quote = esc(_flat(_opening(citation.passage)))
        heading = citation_heading(citation)
        blocks.append("\n".join([f"{number}. {heading[0]}", heading[1], f"«{quote}»"]))
    return "\n\n".join(blocks)


def _opening(text: str, limit: int = 2 * SNIPPET_CONTEXT) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def citation_heading(citation: Citation) -> list[str]:
    """The title line and the source line of a citation."""
    title = citation.title or citation.doc_id
    source = citation.source or f"الملف {citation.doc_id}"
    return [f"📄 <b>{esc(title)}</b>", f"المصدر: {esc(source)}"]


# Documents a no-answer reply names: the closest few, so the reply stays a short message.
NO_ANSWER_TITLES = 3


def closest_titles(citations: Iterable[Citation], limit: int = NO_ANSWER_TITLES) -> list[str]:
    titles: list[str] = []
    for citation in citations:
        title = citation.title or citation.doc_id
        if title not in titles:
            titles.append(title)
    return titles[:limit]


def snippet(citation: Citation, context: int = SNIPPET_CONTEXT) -> str:
    """The passage around the answer (cut at word boundaries), the answer highlighted, as HTML."""
    text, start, end = citation.passage, citation.start, citation.end
    left, right = text[max(0, start - context) : start], text[end : end + context]
    if start - context > 0:
        left = "…" + left.split(" ", 1)[-1] if " " in left else "…" + left
    if end + context < len(text):
        right = right.rsplit(" ", 1)[0] + "…" if " " in right else right + "…"
    if start == end:
        return esc(_flat(left + right))
    return f"{esc(_flat(left, keep_edges=True))}<b><u>{esc(text[start:end])}</u></b>{esc(_flat(right, keep_edges=True))}"


def highlighted(citation: Citation) -> str:
    text, start, end = citation.passage, citation.start, citation.end
    if start == end:
        return esc(text)
    return f"{esc(text[:start])}<b><u>{esc(text[start:end])}</u></b>{esc(text[end:])}"


def _flat(text: str, keep_edges: bool = False) -> str:
    """Whitespace runs as single spaces; the edges kept when the text sits next to the highlight."""
    flat = " ".join(text.split())
    if keep_edges and flat:
        flat = (" " if text[:1].isspace() else "") + flat + (" " if text[-1:].isspace() else "")
    return flat


# -- splitting --------------------------------------------------------------------------------------

_ATOM = re.compile(r"<[^>]*>|&#?\w+;|.", re.DOTALL)
_TAG_NAME = re.compile(r"^</?\s*([A-Za-z0-9-]+)")


def split_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """`text` (Telegram HTML) as messages of at most `limit` UTF-16 units, cut at the best boundary.

    Paragraph breaks are preferred, then line breaks, then sentence ends, then spaces. A cut never
    falls inside a tag or an entity; tags open at a cut are closed before it and reopened after it.
    """
    if _units(text) <= limit:
        return [text]
    atoms = _ATOM.findall(text)
    stacks = _open_tags(atoms)  # stacks[k]: the tags open before atoms[k]
    chunks: list[str] = []
    i = 0
    while i < len(atoms):
        while i < len(atoms) and atoms[i].isspace():  # a message never starts with blank lines
            i += 1
        if i == len(atoms):
            break
        prefix = "".join(stacks[i])
        size = _units(prefix)
        best: dict[int, int] = {}
        j = i
        while j < len(atoms):
            after = size + _units(atoms[j]) + _closing_units(stacks[j + 1])
            if after > limit and j > i:
                break
            size += _units(atoms[j])
            j += 1
            priority = _break_priority(atoms, j)
            if priority:
                best[priority] = j
        if j < len(atoms):
            # The best boundary that still fills a quarter of the message; else cut where it is full.
            floor = i + (j - i) // 4
            j = next((best[p] for p in (4, 3, 2, 1) if best.get(p, 0) > floor), j)
        body = "".join(atoms[i:j]).rstrip() if not stacks[j] else "".join(atoms[i:j])
        chunks.append(prefix + body + _closing(stacks[j]))
        i = j
    return chunks


def _open_tags(atoms: list[str]) -> list[tuple[str, ...]]:
    stacks: list[tuple[str, ...]] = [()]
    stack: list[str] = []
    for atom in atoms:
        if atom.startswith("<") and atom.endswith(">") and len(atom) > 2:
            name = _tag_name(atom)
            if atom.startswith("</"):
                for k in range(len(stack) - 1, -1, -1):
                    if _tag_name(stack[k]) == name:
                        del stack[k:]
                        break
            elif not atom.endswith("/>"):
                stack.append(atom)
        stacks.append(tuple(stack))
    return stacks


def _tag_name(tag: str) -> str:
    match = _TAG_NAME.match(tag)
    return match.group(1).lower() if match else ""


def _closing(stack: tuple[str, ...]) -> str:
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(stack))


def _closing_units(stack: tuple[str, ...]) -> int:
    return _units(_closing(stack)) if stack else 0


def _break_priority(atoms: list[str], j: int) -> int:
    """How good a cut before atoms[j] is: 4 paragraph, 3 line, 2 sentence, 1 word, 0 none."""
    if j >= len(atoms):
        return 0
    previous, following = atoms[j - 1], atoms[j]
    if previous == "\n":
        return 4 if j >= 2 and atoms[j - 2] == "\n" else 3
    if previous.isspace() and following != "\n":
        return 2 if j >= 2 and atoms[j - 2] in _SENTENCE_END else 1
    return 0


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2
