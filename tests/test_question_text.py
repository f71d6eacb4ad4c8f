"""The question as the neural readers read it: everyday question words and full vowelling made MSA."""

from __future__ import annotations

import pytest

from qa.readers.question_text import question_for_reader
from qa.readers.windows import encode_windows
from retrieval.types import Passage


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("مين المتحدث باسم الخارجيه الامريكيه؟", "من المتحدث باسم الخارجيه الامريكيه؟"),
        ("فين اتقتل اسماعيل هنيه؟", "أين اتقتل اسماعيل هنيه؟"),
        ("امتى وصل بلنكن تل ابيب؟", "متى وصل بلنكن تل ابيب؟"),
        ("كام مرحله في مقترح بايدن؟", "كم مرحله في مقترح بايدن؟"),
        ("ليش علقت امريكا الشحنة؟", "لماذا علقت امريكا الشحنة؟"),
        ("مين اللي استقبل بلنكن؟", "من الذي استقبل بلنكن؟"),
        ("مَنْ هُوَ وَزِيرُ الشُّؤُونِ الاسْتِرَاتِيجِيَّةِ؟", "من هو وزير الشؤون الاستراتيجية؟"),
        ("من هو المتحـــدث؟", "من هو المتحدث؟"),
    ],
)
def test_typed_questions_are_read_in_msa(typed, read):
    assert question_for_reader(typed) == read


def test_msa_questions_keep_their_spelling():
    # The odd tanween that MSA keeps (and passages have) stays; words that merely contain a
    # dialect word («الليل», «مينا») are not touched.
    for question in ("متى كان أردوغان رئيساً للوزراء؟", "ما طول الليل في مينا؟", "Who is the spokesman?"):
        assert question_for_reader(question) == question


def test_the_reader_sees_the_msa_question_and_offsets_stay_in_the_passage():
    from tokenizers import Tokenizer

    from qa.readers.neural import TOKENIZER_FILE, shipped_reader_dir

    path = shipped_reader_dir() / TOKENIZER_FILE
    if not path.is_file():
        pytest.skip("no shipped neural reader")
    tokenizer = Tokenizer.from_file(str(path))
    passage = Passage(id="p", doc_id="d", text="قال المتحدث باسم وزارة الخارجية ماثيو ميلر.", start=0, end=44)
    typed = encode_windows(tokenizer, "مين المتحدث باسم الخارجية؟", [passage], 384, 128)
    msa = encode_windows(tokenizer, "من المتحدث باسم الخارجية؟", [passage], 384, 128)
    assert (typed.input_ids == msa.input_ids).all() and (typed.offsets == msa.offsets).all()
