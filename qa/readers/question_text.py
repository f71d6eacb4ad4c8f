"""The question as a neural reader reads it: Modern Standard Arabic spelling of what users type.

The neural readers were fine-tuned on MSA questions without diacritics. Typed questions come with
everyday question words («مين», «فين», «امتى», «ليش») and sometimes with full diacritics; on held-out
ARCD/TyDi questions rewritten with everyday question words the shipped reader's F1 fell from 62.7 to
51.3, and mapping the words back recovered it (README, "Readers"). Only the question changes: the
passage, and so every character offset of an answer, stays as it is.
"""

from __future__ import annotations

import re

from retrieval.normalize import remove_diacritics, remove_tatweel

# Everyday (Egyptian, Levantine, Gulf) question words → MSA, matched as whole words in any hamza spelling.
EVERYDAY_QUESTION_WORDS = {
    "مين": "من",
    "فين": "أين",
    "وين": "أين",
    "امتى": "متى",
    "امتي": "متى",
    "إمتى": "متى",
    "ايه": "ما",
    "إيه": "ما",
    "ايش": "ما",
    "إيش": "ما",
    "شو": "ما",
    "كام": "كم",
    "ليش": "لماذا",
    "ليه": "لماذا",
    "ازاي": "كيف",
    "إزاي": "كيف",
    "اللي": "الذي",
}
_WORD_RE = re.compile(r"\w+")


def question_for_reader(question: str) -> str:
    """`question` without tatweel, its everyday question words in MSA, and without diacritics if it
    is fully vowelled (most words marked). The odd tanween or shadda that MSA writing keeps, as the
    passages do («رئيساً»), stays: on held-out questions removing those cost F1."""
    plain = remove_tatweel(question)
    words = plain.split()  # not \w+: diacritics are not word characters to `re`
    if words and sum(remove_diacritics(w) != w for w in words) * 2 > len(words):
        plain = remove_diacritics(plain)
    return _WORD_RE.sub(lambda m: EVERYDAY_QUESTION_WORDS.get(m.group(0), m.group(0)), plain)
