"""Check a question before any work is done on it; problems get a plain Arabic message."""

from __future__ import annotations

import unicodedata

MAX_QUESTION_CHARS = 1000
# Said with the answer to a question not written in Arabic: the corpus (and the reader) are Arabic.
NOT_ARABIC_NOTE = (
    "المستندات باللغة العربية؛ اكتب سؤالك بالعربية لتحصل على إجابة أدق.\n"
    "The documents are in Arabic; ask in Arabic for a better answer."
)


class QuestionError(ValueError):
    """A question that cannot be answered as typed. `str(err)` is the Arabic message for the user."""

    def __init__(self, message_ar: str, message_en: str) -> None:
        super().__init__(message_ar)
        self.message_ar = message_ar
        self.message_en = message_en


def check_question(question: str | None) -> str:
    """The question with outer whitespace removed, or QuestionError saying what is wrong."""
    text = (question or "").strip()
    if not text:
        raise QuestionError("السؤال فارغ. اكتب سؤالك بالعربية، مثل: من هو وزير الخارجية الأمريكي؟", "The question is empty.")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"السؤال طويل جدًا ({len(text)} حرفًا). اختصره إلى {MAX_QUESTION_CHARS} حرف على الأكثر.",
            f"The question is too long ({len(text)} characters; the limit is {MAX_QUESTION_CHARS}).",
        )
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        raise QuestionError(
            "لم أجد في رسالتك كلمات أبحث عنها. اكتب سؤالك بالكلمات، مثل: متى وصل بلينكن إلى تل أبيب؟",
            "The question has no letters or digits (only symbols or emoji).",
        )
    return text


def is_mostly_latin(question: str) -> bool:
    """Whether `question` has more Latin letters than Arabic ones (an English or French question)."""
    latin = sum(1 for c in question if c.isalpha() and c.isascii() or "\u00c0" <= c <= "\u024f")
    arabic = sum(1 for c in question if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f")
    return latin > arabic
