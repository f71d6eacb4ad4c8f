"""All settings in one place: environment variables with the `SANAD_` prefix and `.env`; CLI flags override."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa.readers.decode import MAX_ANSWER_TOKENS
from retrieval.analyze import Stemmer
from retrieval.hybrid import RetrievalMode
from retrieval.index import BuildSettings

# The valid values of the settings that choose among a few, written once: argparse's `choices` and
# every check elsewhere come from these.
ReaderKind = Literal["auto", "neural", "transformers", "embedded"]
# The embedded reader's threshold, chosen on the seeds gold set when it was the only reader (README).
DEFAULT_NO_ANSWER_THRESHOLD = 0.35
# Passages read per question: more raise recall and the reader's cost alike.
DEFAULT_TOP_K = 5
# The reader's share of an answer's score, the rest retrieval's (qa/select.py): an even mix.
DEFAULT_READER_WEIGHT = 0.5
ReaderOptimization = Literal["none", "onnx-int8", "torch-int8"]
TerminalBidi = Literal["auto", "logical", "visual"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def seed_folder() -> Path:
    """The seed articles and their gold questions: the copy a wheel carries as `qa/seeds` (pyproject maps
    the top-level seeds/ folder there), else a checkout's own seeds/ (editable installs, tests)."""
    installed = Path(__file__).resolve().parent / "seeds"
    return installed if installed.is_dir() else PROJECT_ROOT / "seeds"


def default_corpus() -> Path:
    """`./seeds` when run from a folder that has one, else the seed articles Sanad ships."""
    here = Path.cwd() / "seeds"
    return here if here.is_dir() else seed_folder()


def default_cache() -> Path:
    return Path.home() / ".cache" / "sanad"


def default_datasets() -> Path:
    """A checkout's data folder, beside the repository (../shared/data): ARCD and the other training sets."""
    return PROJECT_ROOT.parent / "shared" / "data"


def default_index_for(corpus: Path, cache: Path | None = None) -> Path:
    """One cached index per corpus folder, outside the corpus (which may be read-only)."""
    key = hashlib.sha1(str(corpus.resolve()).encode("utf-8")).hexdigest()[:12]
    return (cache or default_cache()) / "indexes" / f"{corpus.resolve().name}-{key}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SANAD_", env_file=".env", extra="ignore")

    # -- corpus and index --
    corpus: Path = Field(default_factory=default_corpus, description="Folder of .txt/.jsonl articles")
    index: Path | None = Field(default=None, description="Index folder; default: a cache folder per corpus")
    stemmer: Stemmer = "light"
    # Indexes, exported ONNX graphs and other rebuildable files (SANAD_CACHE).
    cache: Path = Field(default_factory=default_cache)
    # Training and benchmark data: arcd/arcd-train.json, arcd/arcd-test.json, tydiqa-ar/, aqad/ (SQuAD format).
    datasets: Path = Field(default_factory=default_datasets)
    # BM25's parameters: the index's own defaults (retrieval/index.py), so that one place holds them.
    k1: float = BuildSettings.k1
    b: float = BuildSettings.b
    # -- retrieval: BM25, dense multilingual-e5 vectors, or both fused (README, "Hybrid retrieval") --
    # Hybrid by default: it finds more passages (arcd-test recall@1 0.727 vs 0.702; TyDi 0.859 vs 0.743)
    # and gives the seeds the same answers as BM25 once a passage reads the same whatever else was
    # retrieved. An index without vectors answers by BM25 and says how to add them.
    retrieval: RetrievalMode = "hybrid"
    # Threads of the embedding engine; unset: one per core, at most four.
    embed_threads: int | None = Field(default=None, ge=1, le=64)
    # Every passage vector ever embedded, by passage text: rebuilds and interrupted runs reuse them.
    vector_cache: Path = Field(default_factory=lambda: default_cache() / "vectors")

    # -- reading --
    reader: ReaderKind = "auto"
    # A Hugging Face checkpoint (id or folder) for the transformers reader; unset, `auto` reads with
    # the shipped neural reader and never asks the hub, and `transformers` uses DEFAULT_MODEL.
    model: str | None = None
    # A neural reader folder made by `sanad train-neural` + export; unset: the one shipped in the package.
    neural_reader: Path | None = None
    max_seq_length: int = Field(default=384, ge=32, le=4096)
    doc_stride: int = Field(default=128, ge=8)
    max_answer_tokens: int = Field(default=MAX_ANSWER_TOKENS, ge=1, le=512)
    reader_batch_size: int = Field(default=8, ge=1)
    reader_optimization: ReaderOptimization = Field(
        default="none",
        description="Faster CPU inference for the transformers reader: int8 weights in ONNX Runtime or torch",
    )
    hub_timeout: float = Field(default=2.0, gt=0, description="Seconds to wait for the model hub before going offline")

    # -- answer selection --
    top_k: int = Field(default=DEFAULT_TOP_K, ge=1, le=100)
    # Unset: the reader's own threshold (each reader calibrates its scores differently; README).
    no_answer_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    reader_weight: float = Field(default=DEFAULT_READER_WEIGHT, ge=0.0, le=1.0)

    # -- state kept between runs: the bot's database (buttons, votes, outbox), the REPL's history --
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local/share/sanad")
    # How the REPL shows right-to-left text: auto (by terminal), logical (the terminal reorders), visual
    # (Sanad reorders each line, for terminals without bidi such as xterm).
    terminal_bidi: TerminalBidi = "auto"

    # -- HTTP API and web page (sanad serve) --
    serve_host: str = "127.0.0.1"
    serve_port: int = Field(default=8080, ge=1, le=65535)
    # Bearer token every /v1 and /metrics request must carry (unset: open). Compared in constant time, never logged.
    api_token: SecretStr | None = None
    # Requests one client (IP address) may make to /v1 per minute (0: no limit), in bursts of up to that many.
    api_rate_limit: int = Field(default=60, ge=0)
    # Largest request body accepted, in bytes (a question is at most 1000 characters, 4 bytes each at most).
    api_max_body_bytes: int = Field(default=16_384, ge=1024)
    # Questions read at the same time, each in a thread of a bounded pool, so the event loop never waits on a reader.
    api_max_concurrent_reads: int = Field(default=4, ge=1, le=64)
    # Origins allowed to call the API from a browser (CORS); empty: none (same-origin only). Comma-separated.
    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Reverse proxies whose X-Forwarded-For names the real client (for the rate limit, the votes and the log);
    # other peers' headers are ignored. Addresses or networks, comma-separated; "*" trusts every peer.
    api_trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    @field_validator("api_cors_origins", "api_trusted_proxies", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        # "https://a.example, https://b.example" from the environment; lists pass through from code.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _windows_overlap(self) -> Settings:
        if self.doc_stride >= self.max_seq_length:
            raise ValueError(
                f"SANAD_DOC_STRIDE ({self.doc_stride}) must be smaller than SANAD_MAX_SEQ_LENGTH ({self.max_seq_length})"
            )
        return self

    def threshold_for(self, reader: object) -> float:
        """The no-answer threshold: the one set, else the reader's own, else the embedded reader's."""
        if self.no_answer_threshold is not None:
            return self.no_answer_threshold
        return float(getattr(reader, "no_answer_threshold", DEFAULT_NO_ANSWER_THRESHOLD))

    def index_dir(self) -> Path:
        return self.index or default_index_for(self.corpus, self.cache)

    def corpus_named(self) -> bool:
        """Whether `corpus` is the one to index: chosen by the user, or the default with the default index.

        False when an index was named and a corpus was not: that index's own corpus then applies.
        """
        return "corpus" in self.model_fields_set or self.index is None


AnySettings = TypeVar("AnySettings", bound=BaseSettings)


class SettingsError(ValueError):
    """A flag, environment variable or .env line with a value its setting cannot take; says which and what it takes."""


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    flags: Mapping[str, str] | None = None,
    kind: type[AnySettings] = Settings,  # type: ignore[assignment]
) -> AnySettings:
    """Settings (or a front end's own `kind` of them) from the environment and .env with `overrides` laid over.

    A bad value raises SettingsError naming the flag (`flags` maps a field to it) or the variable.
    """
    overrides = dict(overrides or {})
    try:
        return kind(**overrides)
    except ValidationError as err:
        problems = [_explain(error, overrides, flags or {}, kind) for error in err.errors()]
        raise SettingsError(" ".join(problems)) from None


def _explain(
    error: Mapping[str, Any], overrides: Mapping[str, Any], flags: Mapping[str, str], kind: type[BaseSettings]
) -> str:
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if not error.get("loc"):  # a rule across settings: its message names them
        return f"{message}."
    name = str(error["loc"][0])
    field = kind.model_fields.get(name)
    value = error.get("input")
    if name in overrides:
        where = f"{flags.get(name, '--' + name.replace('_', '-'))} {value}"
    else:
        alias = field.validation_alias if field is not None else None
        env = alias.choices[0] if isinstance(alias, AliasChoices) else f"SANAD_{name.upper()}"
        where = f"{env}={value} (environment or .env)"
    expected = _accepts(field) if field is not None else None
    if expected is not None:
        return f"{where}: expected {expected}."
    return f"{where}: {message[:1].lower() + message[1:]}."


def _accepts(field: Any) -> str | None:
    """What a setting takes, in words: its choices, or its kind of number and bounds."""
    kind = field.annotation
    if get_origin(kind) in (Union, UnionType):  # `float | None`: unset is not something one types
        kinds = [k for k in get_args(kind) if k is not type(None)]
        kind = kinds[0] if len(kinds) == 1 else kind
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(kind))
    if kind not in (int, float):
        return None
    low = high = None
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge | annotated_types.Gt):
            low = (rule.ge if isinstance(rule, annotated_types.Ge) else rule.gt), isinstance(rule, annotated_types.Gt)
        if isinstance(rule, annotated_types.Le | annotated_types.Lt):
            high = (rule.le if isinstance(rule, annotated_types.Le) else rule.lt), isinstance(rule, annotated_types.Lt)
    words = "a whole number" if kind is int else "a number"
    if low and high:
        return f"{words} from {low[0]} to {high[0]}" + (" (both excluded)" if low[1] and high[1] else "")
    if low:
        return f"{words} {'above' if low[1] else 'of at least'} {low[0]}"
    if high:
        return f"{words} {'below' if high[1] else 'of at most'} {high[0]}"
    return words
