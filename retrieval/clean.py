"""Turn a scraped news article into its body, headline and publisher.

The rules describe what site furniture looks like on Arabic news sites in general (share buttons,
comment forms, copyright lines, "read also" teasers, tag lists, navigation words), not the strings of
any one corpus. A footer is cut from the first line that opens it; isolated furniture lines elsewhere
are dropped one by one; every other line is kept verbatim.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Lines that open a site footer: nothing after them belongs to the article.
_FOOTER_OPENERS = [
    r"(?:ا|إ|أ)?قر(?:أ|ا)\s*(?:أ|ا)يض(?:ا|اً|ًا)?\s*[:：]?",  # «اقرأ أيضاً» as a heading on its own line
    r"شاهد\s*(?:أ|ا)يض(?:ا|اً|ًا)?\s*[:：]?",
    r"(?:اقرأ|إقرأ|اقرا)\s+المزيد\s*[:：]?",
    r"(?:قصص|أخبار|اخبار|مواضيع|مقالات|موضوعات)\s+(?:قد\s+تهمك|ذات\s+صلة|مشابهة|متعلقة|أخرى)\s*[:：]?",
    r"(?:ا|إ)قرأ\s+(?:في|ايضا\s+في)\s+.{0,20}",
    r"تصنيفات\s*[:：]?",
    r"(?:كلمات\s+(?:دلالية|مفتاحية)|الوسوم|وسوم|الكلمات\s+المفتاحية)\s*[:：].*",
    r"(?:ا|إ)ترك\s+تعليق(?:ا|اً|ًا)?\s*[:：]?",
    r"(?:أ|ا)ضف\s+تعليق(?:ا|اً|ًا)?\s*[:：]?",
    r"التعليقات\s*[:：]?",
    r"المصدر\s*[:：]\s*\S.{0,40}",
]
_FOOTER_RE = re.compile(r"^\s*(?:" + "|".join(_FOOTER_OPENERS) + r")\s*$")

# Furniture lines that may stand anywhere: short lines that are only one of these.
_FURNITURE = [
    r"شارك(?:ها|ه|نا)?\.?",
    r"(?:مشاركة|شارك)\s+(?:الخبر|المقال|عبر|على).{0,40}",
    r"(?:فيسبوك|تويتر|واتساب|تيليجرام|لينكد\s*إن|فيس\s*بوك|إكس|X)(?:\s*[|،,]\s*\S+){0,6}",
    r".{0,60}(?:©|جميع\s+الحقوق\s+محفوظة|حقوق\s+النشر\s+محفوظة|All\s+rights\s+reserved).{0,60}",
    r"لن\s+يتم\s+نشر\s+عنوان\s+بريدك\s+الإلكتروني.*",
    r"الحقول\s+(?:الإلزامية|المطلوبة)\s+مشار\s+إليها.*",
    r"(?:الرئيسية|القائمة|بحث|تسجيل\s+الدخول|اشترك|اشترك\s+الآن|العودة\s+للأعلى|التالي|السابق)\s*",
    r"(?:تاريخ\s+النشر|نشر\s+في|آخر\s+تحديث|تاريخ\s+التحديث)\s*[:：].{0,60}",
]
_FURNITURE_RE = re.compile(r"^\s*(?:" + "|".join(_FURNITURE) + r")\s*$", re.IGNORECASE)

_ARABIC_LETTER_RE = re.compile(r"[\u0621-\u064A]")
_LATIN_LETTER_RE = re.compile(r"[A-Za-z]")
_SENTENCE_END_RE = re.compile(r"[.!?؟:؛…]\s*[\"'”»)]*\s*$")
_DATE_LINE_RE = re.compile(r"^\s*(?:تاريخ\s+النشر|نشر\s+في|آخر\s+تحديث)\s*[:：]\s*(.+?)\s*$")
_SOURCE_LINE_RE = re.compile(r"^\s*المصدر\s*[:：]\s*(.+?)\s*$")
_COPYRIGHT_RE = re.compile(r"©\s*(?:\d{4}\s*)?(.+?)\s*[.,،]?\s*(?:جميع\s+الحقوق\s+محفوظة|All\s+rights.*)?\.?\s*$")
# A dateline such as «تل أبيب-رويترز» or «القاهرة - (أ ف ب)»: a place, a dash, an agency.
_DATELINE_RE = re.compile(r"^\s*[\u0621-\u064A ]{2,25}\s*[-–—]\s*\(?([\u0621-\u064A ]{2,25})\)?\s*$")
_HEADLINE_MAX_WORDS = 25
_HTML_HINT_RE = re.compile(r"<(?:p|div|br|span|a|h[1-6]|html|body|article)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class CleanArticle:
    """What cleaning found: body text (headline first, if any) and the metadata it read off the page."""

    text: str
    title: str
    source: str
    meta: dict[str, str] = field(default_factory=dict)


def clean_article(raw: str) -> CleanArticle:
    """Split a scraped article into body, headline and publisher."""
    text = strip_markup(raw) if looks_like_html(raw) else raw
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta: dict[str, str] = {}
    source = _find_source(lines)

    body: list[str] = []
    seen: set[str] = set()
    for line in lines:
        stripped = line.strip()
        if _FOOTER_RE.match(stripped) and _has_body(body):
            break
        if date := _DATE_LINE_RE.match(stripped):
            meta.setdefault("date", date.group(1))
            continue
        if _is_furniture(stripped):
            continue
        # Scraped pages repeat image captions; a second copy of a line adds nothing.
        if stripped and stripped in seen:
            continue
        seen.add(stripped)
        body.append(line.rstrip())

    body_text = _join_paragraphs(body)
    title = _headline(body_text)
    return CleanArticle(text=body_text, title=title, source=source, meta=meta)


def looks_like_html(text: str) -> bool:
    return bool(_HTML_HINT_RE.search(text))


def strip_markup(text: str) -> str:
    """Markup to plain text: block elements become line breaks, scripts and styles vanish."""
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return html.unescape("".join(parser.parts))


def first_sentence_title(text: str, limit: int = 60) -> str:
    """A short stand-in title for articles that have no headline."""
    first = re.split(r"(?<=[.!؟?؛])\s|\n", text.strip(), maxsplit=1)[0].strip()
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def _has_body(body: list[str]) -> bool:
    """A footer can only start once some article text has been seen."""
    return sum(len(line.split()) for line in body) >= 20


def _is_furniture(line: str) -> bool:
    if not line:
        return False
    if _FURNITURE_RE.match(line):
        return True
    # Navigation residue in Latin script on an Arabic page («Exit mobile version», «Skip to content»).
    return not _ARABIC_LETTER_RE.search(line) and bool(_LATIN_LETTER_RE.search(line)) and len(line.split()) <= 6


def _find_source(lines: list[str]) -> str:
    for line in lines:
        if match := _SOURCE_LINE_RE.match(line):
            return match.group(1).strip(" .،")
    for line in lines:
        if "©" in line and (match := _COPYRIGHT_RE.search(line)):
            name = match.group(1).strip(" .،")
            if name:
                return name
    for line in lines[:8]:
        if match := _DATELINE_RE.match(line):
            return match.group(1).strip()
    return ""


def _headline(text: str) -> str:
    """The first line is a headline when it is short, stands alone and does not end a sentence."""
    first, _, rest = text.partition("\n")
    first = first.strip()
    if not rest.strip() or not first:
        return ""
    if len(first.split()) > _HEADLINE_MAX_WORDS or _SENTENCE_END_RE.search(first):
        return ""
    return first


def _join_paragraphs(lines: list[str]) -> str:
    """Keep the article's own line structure, with runs of blank lines folded into one."""
    out: list[str] = []
    for line in lines:
        if not line.strip():
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


class _TextExtractor(HTMLParser):
    _BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "article", "section"}
    _SKIP = {"script", "style", "noscript", "nav", "footer", "header", "form"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)
