"""What a question asks for (its kind, from the interrogative) and the terms it is matched on."""

from __future__ import annotations

from dataclasses import dataclass

from qa.readers.lexicon import KIND_WORDS, NAME_NOUNS, PLACE_NOUNS, QUANTITY_NOUNS, TIME_NOUNS
from retrieval.analyze import Analyzer, strip_article
from retrieval.normalize import normalized_words

KINDS = ("who", "when", "where", "how_many", "how", "why", "yes_no", "which", "what_is", "what", "name", "other")

# Question and passage words are matched through the index's own analyzer (one stemmer, one stopword
# list), as DrQA rebuilds the index's tokenizer on the query side.
ANALYZER = Analyzer()
# The interrogative is looked for among the question's first words («في أي عام …», «متى …»): one later is
# part of a clause («… الذي قال متى …»), not what the question asks.
INTERROGATIVE_WITHIN = 5


@dataclass(frozen=True)
class QuestionInfo:
    """A question's kind (one of KINDS) and its terms, as a set and in question order."""

    kind: str
    terms: frozenset[str]
    ordered_terms: tuple[str, ...] = ()


def question_info(question: str) -> QuestionInfo:
    """The question's kind (from its interrogative) and its content-word stems."""
    ordered = tuple(_question_terms(question))
    return QuestionInfo(kind=question_kind(question), terms=frozenset(ordered), ordered_terms=ordered)


def question_kind(question: str) -> str:
    """What the answer should look like, from the interrogative and, after أي/ما, the noun that follows."""
    norms = normalized_words(question)
    for position, norm in enumerate(norms[:INTERROGATIVE_WITHIN]):
        kind = next((k for k, forms in KIND_WORDS.items() if norm in forms), None)
        if kind is None:
            continue
        following = norms[position + 1 : position + 3] + ["", ""]
        copula = kind == "what" and following[0] in {"هو", "هي", "هم"} or norm in {"ماهو", "ماهي"}
        if kind in ("which", "what"):
            # «ما هي مساحة ...» asks like «ما مساحة ...»: the noun after the copula decides.
            word = following[1] if kind == "what" and following[0] in {"هو", "هي", "هم"} else following[0]
            noun = strip_article(word)
            if word in TIME_NOUNS or noun in TIME_NOUNS:
                return "when"
            if word in PLACE_NOUNS or noun in PLACE_NOUNS:
                return "where"
            if noun in NAME_NOUNS:
                return "name"
            if noun in QUANTITY_NOUNS:
                return "how_many"
            if copula or following[0] in {"معني", "المقصود"}:
                return "what_is"
        return kind
    return "other"



def _question_terms(question: str) -> list[str]:
    # One-letter words (a bare «و», an «م» for a year) carry no content; every longer word keeps a stem
    # of two letters or more, so the filter on the term is the filter on the word.
    return [t for t in ANALYZER.terms(question) if len(t) > 1]
