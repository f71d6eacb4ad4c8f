"""`sanad bench reader`: an AraBERT-base-shaped QA model, torch fp32 beside the int8 paths and the embedded reader.

Speed does not depend on the weights, so the model is BERT-base's shape (12 layers, hidden 768,
vocabulary 64,000, 384-token windows) with random weights, and its tokenizer a WordPiece vocabulary
trained here on the seeds (and ARCD when present): nothing is downloaded.

Span agreement is measured twice. With random weights the start/end logits are nearly flat, so a
rounding error of 1e-3 can move the best span: a floor, not what a trained model would see. The
"decisive" model is the same network with a QA head that clearly prefers one span in each window,
as a fine-tuned model does; agreement there is what int8 rounding does to a confident model.
Neither is a trained reader: `--trained-model PATH` adds the figure that counts, span agreement and
speed on a checkpoint that learned QA (`sanad bench train-probe-model`, qa/bench/probe.py), over
ARCD's test questions in their gold paragraphs.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from qa.bench.bert import wordpiece_bert_qa
from qa.bench.corpus import default_sources, squad_texts, synthetic_questions
from qa.bench.measure import latency_summary, machine, timed

log = logging.getLogger(__name__)

VOCABULARY = 64_000
HIDDEN = 768
SEQUENCE = 384
# Token positions of the decisive model's answer: inside the context of every window.
ANSWER_START, ANSWER_END = 40, 43
OPTIMIZED = ("onnx-int8", "torch-int8")
ONNX_THREADS = (1, 2)


def bench_reader(
    passage_counts: list[int],
    n_questions: int = 30,
    layers: int = 12,
    workdir: Path | None = None,
    hidden: int = HIDDEN,
    vocabulary: int = VOCABULARY,
    trained_model: Path | None = None,
    trained_questions: int | None = None,
    only_trained: bool = False,
    neural_model: Path | None = None,
    neural_reader: Path | None = None,
) -> dict[str, Any]:
    """Per-question latency for each reader and passage count, and span agreement with fp32; with
    `trained_model` (see qa/bench/probe.py) also agreement and speed on a model that learned QA, and
    with `neural_model` the neural reader's fp32 model beside its shipped int8 path."""
    import torch

    if workdir:
        workdir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="sanad-bench-reader-", dir=workdir))
    try:
        trained = (
            {"trained_model": trained_agreement(trained_model, base / "cache", trained_questions)}
            if trained_model
            else {}
        )
        if neural_model:
            trained["neural_reader"] = neural_agreement(neural_model, neural_reader, trained_questions)
        if only_trained:
            threads = torch.get_num_threads()
            return {"benchmark": "reader", "machine": machine(), "torch_threads": threads, **trained}
        model_dir, build_s = timed(lambda: build_bert_base_qa(base / "random", layers, hidden, vocabulary))
        decisive_dir = make_decisive(model_dir, base / "decisive")
        cases = _cases(n_questions, max(passage_counts))
        readers, prepare = _readers(model_dir, base / "cache")
        unavailable = _drop_failing(readers, cases)
        results: dict[str, Any] = {name: {} for name in readers}
        spans: dict[str, dict[int, list[Any]]] = {name: {} for name in readers}
        for count in passage_counts:
            timings = _time_reads(readers, cases, count)
            for name, (times, best) in timings.items():
                results[name][f"{count}_passages_ms"] = latency_summary(times)
                spans[name][count] = best
        _add_speedups(results, passage_counts)
        agreement = {
            name: {
                f"{count}_passages": _same(spans[name][count], spans["torch-fp32"][count])
                for count in passage_counts
            }
            for name in readers
            if name not in {"torch-fp32", "embedded"}
        }
        decisive = _decisive_agreement(decisive_dir, base / "cache", cases, passage_counts)
        return {
            "benchmark": "reader",
            "machine": machine(),
            "model": {"layers": layers, "hidden": hidden, "vocabulary": vocabulary, "max_seq_length": SEQUENCE},
            "torch_threads": torch.get_num_threads(),
            "questions": len(cases),
            "model_build_seconds": round(build_s, 1),
            "prepare_seconds": prepare,
            "latency": results,
            "same_span_random_weights": agreement,
            "same_span_decisive_model": decisive,
            "logit_correlation_random_weights": _logit_correlation(readers, cases),
            **trained,
            **({"unavailable": unavailable} if unavailable else {}),
        }
    finally:
        shutil.rmtree(base, ignore_errors=True)


def build_bert_base_qa(
    folder: Path, layers: int = 12, hidden: int = HIDDEN, vocabulary: int = VOCABULARY, seed: int = 0
) -> Path:
    """A BertForQuestionAnswering of AraBERT-base's shape, random weights, and a local fast tokenizer."""
    _, model = wordpiece_bert_qa(
        folder, _training_texts(), vocabulary=vocabulary, layers=layers, hidden=hidden, max_length=SEQUENCE,
        full_vocabulary=True, seed=seed,
    )
    model.save_pretrained(folder)
    return folder


def make_decisive(model_dir: Path, folder: Path) -> Path:
    """`model_dir` with a QA head that strongly prefers the tokens at ANSWER_START..ANSWER_END."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    model = AutoModelForQuestionAnswering.from_pretrained(model_dir)
    generator = torch.Generator().manual_seed(1)
    start_dir, end_dir = torch.randn(2, model.config.hidden_size, generator=generator)
    with torch.no_grad():
        positions = model.bert.embeddings.position_embeddings.weight
        positions[ANSWER_START] += 3 * start_dir
        positions[ANSWER_END] += 3 * end_dir
        model.qa_outputs.weight.copy_(torch.stack([start_dir, end_dir]))
        model.qa_outputs.bias.zero_()
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(folder)
    return folder


def _readers(model_dir: Path, cache: Path) -> tuple[dict[str, Any], dict[str, float]]:
    """Every reader to time, warmed up, and how long each took to load (export and quantize included)."""
    import os

    from qa.readers.embedded import EmbeddedReader
    from qa.readers.transformers_reader import TransformersReader

    os.environ["SANAD_CACHE"] = str(cache)
    readers: dict[str, Any] = {"torch-fp32": TransformersReader(str(model_dir), local_files_only=True)}
    for threads in ONNX_THREADS:
        readers[f"onnx-int8-{threads}t"] = TransformersReader(
            str(model_dir), local_files_only=True, optimization="onnx-int8", threads=threads
        )
    readers["torch-int8"] = TransformersReader(str(model_dir), local_files_only=True, optimization="torch-int8")
    readers["embedded"] = EmbeddedReader()
    prepare = {}
    for name, reader in readers.items():
        warm = getattr(reader, "warm_up", None)
        prepare[name] = round(timed(warm)[1], 1) if warm else 0.0
    return readers, prepare


def trained_agreement(model_dir: Path, cache: Path, n_questions: int | None = None) -> dict[str, Any]:
    """fp32 beside the int8 paths on a model that learned extractive QA: ARCD test questions, each
    read in its gold paragraph (reader mode, always answering); same best span, F1, latency."""
    import os

    from qa.bench.probe import STATS, arcd_file, gold_passage, load_questions, probe_reader

    os.environ["SANAD_CACHE"] = str(cache)
    questions = load_questions(arcd_file("test"), n_questions)
    readers = {"torch-fp32": probe_reader(model_dir)}
    for optimization in OPTIMIZED:
        readers[optimization] = probe_reader(model_dir, optimization=optimization)
    result = {"model_dir": str(model_dir), **_arcd_agreement(readers, questions)}
    result["logit_correlation"] = _logit_correlation(readers, [(q.question, [gold_passage(q)]) for q in questions])
    # Its training questions, where the model is as sure as a fine-tuned reader in its own domain.
    seen = [(q.question, [gold_passage(q)]) for q in load_questions(arcd_file("train"), min(len(questions), 200))]
    seen_spans = {name: best for name, (_, best) in _time_reads(readers, seen, 1).items()}
    result["same_span_as_fp32_train_questions"] = {
        name: _same(best, seen_spans["torch-fp32"]) for name, best in seen_spans.items() if name != "torch-fp32"
    }
    stats = Path(model_dir) / STATS
    if stats.exists():
        result["training"] = json.loads(stats.read_text(encoding="utf-8"))
    return result


def neural_agreement(model_dir: Path, reader_dir: Path | None = None, n_questions: int | None = None) -> dict[str, Any]:
    """The neural reader's fp32 model (the transformers folder `sanad train-neural` wrote) beside the
    shipped int8 ONNX path (`reader_dir`, default the packaged one), on ARCD test in reader mode."""
    from qa.bench.probe import arcd_file, load_questions
    from qa.readers.neural import NeuralReader, shipped_reader_dir
    from qa.readers.transformers_reader import TransformersReader

    shipped = reader_dir or shipped_reader_dir()
    readers = {
        "torch-fp32": TransformersReader(str(model_dir), local_files_only=True, use_null_score=False),
        "shipped-int8": NeuralReader(shipped),
    }
    return {"model_dir": str(model_dir), "reader_dir": str(shipped),
            **_arcd_agreement(readers, load_questions(arcd_file("test"), n_questions))}


def _arcd_agreement(readers: dict[str, Any], questions: list[Any]) -> dict[str, Any]:
    """Each reader on each question in its gold paragraph: load time, same best span as
    `torch-fp32`, test F1 of the best span, latency and speed-up."""
    from qa.bench.probe import gold_passage
    from qa.metrics import f1_score

    prepare = {name: round(timed(reader.warm_up)[1], 1) for name, reader in readers.items()}
    cases = [(q.question, [gold_passage(q)]) for q in questions]
    timings = _time_reads(readers, cases, 1)
    reference = timings["torch-fp32"][1]
    result: dict[str, Any] = {
        "questions": len(cases),
        "prepare_seconds": prepare,
        "same_span_as_fp32": {
            name: _same(best, reference) for name, (_, best) in timings.items() if name != "torch-fp32"
        },
        "f1_test": {},
        "latency_ms": {},
        "speedup_p50": {},
    }
    for name, (times, best) in timings.items():
        texts = [q.context[s[1] : s[2]] if s else "" for q, s in zip(questions, best)]
        f1 = [f1_score(text, q.answers) for text, q in zip(texts, questions)]
        result["f1_test"][name] = round(100 * float(np.mean(f1)), 1)
        result["latency_ms"][name] = latency_summary(times)
    fp32 = result["latency_ms"]["torch-fp32"]["p50"]
    for name in readers:
        if name != "torch-fp32":
            result["speedup_p50"][name] = round(fp32 / result["latency_ms"][name]["p50"], 2)
    return result


def _drop_failing(readers: dict[str, Any], cases: list[tuple[str, list[Any]]]) -> dict[str, str]:
    """Readers that cannot read (e.g. an embedded model being retrained) are reported, not timed."""
    failing = {}
    for name, reader in list(readers.items()):
        try:
            reader.read(cases[0][0], cases[0][1][:1])
        except Exception as err:  # any reader failure: the others' figures are still worth printing
            failing[name] = f"{type(err).__name__}: {err}"
            del readers[name]
    return failing


def _cases(n_questions: int, most: int) -> list[tuple[str, list[Any]]]:
    """Questions, each with its best seed passages by BM25 (topped up with others when few match)."""
    from qa.config import seed_folder
    from retrieval.corpus import load_corpus
    from retrieval.index import BM25Index

    index = BM25Index.build(load_corpus(seed_folder()).documents, progress=False)
    rng = np.random.default_rng(7)
    cases = []
    for question in synthetic_questions(n_questions):
        chosen = [h.passage for h in index.search(question, most)]
        others = [p for p in index.passages if p not in chosen]
        for i in rng.permutation(len(others))[: most - len(chosen)]:
            chosen.append(others[int(i)])
        cases.append((question, chosen))
    return cases


def _time_reads(
    readers: dict[str, Any], cases: list[tuple[str, list[Any]]], count: int
) -> dict[str, tuple[list[float], list[Any]]]:
    """Each reader's latency and best span per question; readers take turns on every question, so a
    busy machine slows them all alike and the ratios stay fair."""
    timings: dict[str, tuple[list[float], list[Any]]] = {name: ([], []) for name in readers}
    for reader in readers.values():
        reader.read(cases[0][0], cases[0][1][:count])
    for question, passages in cases:
        for name, reader in readers.items():
            started = time.perf_counter()
            answers = reader.read(question, passages[:count])
            timings[name][0].append(time.perf_counter() - started)
            top = answers[0].citations[0] if answers else None
            timings[name][1].append((top.passage_id, top.start, top.end) if top else None)
    return timings


def _same(spans: list[Any], reference: list[Any]) -> float:
    return round(sum(a == b for a, b in zip(spans, reference)) / max(len(reference), 1), 3)


def _add_speedups(results: dict[str, Any], passage_counts: list[int]) -> None:
    for count in passage_counts:
        key = f"{count}_passages_ms"
        fp32 = results["torch-fp32"][key]["p50"]
        for name in results:
            if isinstance(results[name], dict) and key in results[name] and name != "torch-fp32":
                results[name][f"{count}_passages_speedup_p50"] = round(fp32 / results[name][key]["p50"], 2)


def _decisive_agreement(model_dir: Path, cache: Path, cases: list[Any], passage_counts: list[int]) -> dict[str, Any]:
    from qa.readers.transformers_reader import TransformersReader

    readers = {"none": TransformersReader(str(model_dir), local_files_only=True)}
    for optimization in OPTIMIZED:
        readers[optimization] = TransformersReader(str(model_dir), local_files_only=True, optimization=optimization)
    agreement: dict[str, Any] = {name: {} for name in OPTIMIZED}
    for count in passage_counts:
        spans = {name: best for name, (_, best) in _time_reads(readers, cases, count).items()}
        for name in OPTIMIZED:
            agreement[name][f"{count}_passages"] = _same(spans[name], spans["none"])
    return agreement


def _logit_correlation(readers: dict[str, Any], cases: list[Any]) -> dict[str, float]:
    """Pearson correlation of start and end logits with fp32's over the windows of every question."""
    fp32 = readers["torch-fp32"]
    correlations = {}
    for name, reader in readers.items():
        if name in {"torch-fp32", "embedded"}:
            continue
        want, got = [], []
        for question, passages in cases:
            windows = fp32.encode(question, passages)
            batch = windows.inputs(slice(None), fp32.input_names())
            mask = windows.attention_mask.astype(bool)
            for a, b in zip(fp32.logits(batch), reader.logits(batch)):
                want.append(a[mask])
                got.append(b[mask])
        correlations[name] = round(float(np.corrcoef(np.concatenate(want), np.concatenate(got))[0, 1]), 5)
    return correlations


def _training_texts() -> list[str]:
    texts = []
    for path in default_sources():
        raw = path.read_text(encoding="utf-8")
        texts.extend(squad_texts(raw) if path.suffix == ".json" else [raw])
    return texts
