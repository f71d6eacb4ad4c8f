"""What the neural readers read and answer: typed questions in MSA, spans that stay within a line."""

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


def test_a_span_never_runs_across_a_line_break():
    """A passage can hold a heading and the paragraph under it; the best-scored span across the break
    gives way to the best one inside a line."""
    import numpy as np
    from tokenizers import Tokenizer

    from qa.readers.neural import TOKENIZER_FILE, shipped_reader_dir
    from qa.readers.windows import read_windows

    path = shipped_reader_dir() / TOKENIZER_FILE
    if not path.is_file():
        pytest.skip("no shipped neural reader")
    text = "تصاعد العنف في 7 أكتوبر\nمنذ تصاعد العنف في 7 أكتوبر قتل كثيرون"
    passage = Passage(id="p", doc_id="d", text=text, start=0, end=len(text))
    windows = encode_windows(Tokenizer.from_file(str(path)), "متى تصاعد العنف؟", [passage], 384, 128)
    offsets = windows.offsets[0]
    context = np.flatnonzero(windows.context_mask[0])
    first_seven = next(i for i in context if text[offsets[i][0] : offsets[i][1]].strip() == "7")
    last_word = max(i for i in context if text[offsets[i][0] : offsets[i][1]].strip().endswith("أكتوبر"))

    def logits(batch):
        start = np.full(batch["input_ids"].shape, -10.0, dtype=np.float32)
        end = start.copy()
        start[0, first_seven], end[0, last_word] = 10.0, 10.0  # the crossing span scores best
        end[0, first_seven + 1 : first_seven + 3] = 5.0  # «7 أكتوبر» on the first line comes next
        return start, end

    answers = read_windows("متى تصاعد العنف؟", [passage], windows, logits, ("input_ids", "attention_mask"), "test")
    assert answers and all("\n" not in a.text for a in answers)
    assert answers[0].text.startswith("7")
