"""Where an index goes: only an index is ever replaced, leftovers of killed builds are cleaned up,
a named index keeps its own corpus, and a place that cannot be written is refused before any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import main
from retrieval.index import BM25Index, BuildSettings
from retrieval.index_folder import remove_stale_staging
from retrieval.locations import LocationError
from retrieval.store import open_index

SPOKESMAN = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
REFUSED = "left untouched"


@pytest.fixture
def corpus1(tmp_path: Path, seeds_dir: Path) -> Path:
    """Two of the seed articles: a corpus other than the default one."""
    folder = tmp_path / "corpus1"
    folder.mkdir()
    for path in sorted(seeds_dir.glob("*.txt"))[:2]:
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


# -- only an index is replaced ------------------------------------------------------------------


def test_a_folder_that_is_not_an_index_is_refused_and_left_as_it_was(tmp_path, corpus1, capsys):
    mydir = tmp_path / "mydir"
    (mydir / "sub").mkdir(parents=True)
    (mydir / "important.txt").write_text("notes", "utf-8")
    (mydir / "sub" / "more.txt").write_text("more notes", "utf-8")
    before = _tree(mydir)
    assert main(["index", "--corpus", str(corpus1), "--index", str(mydir)]) == 2
    err = capsys.readouterr().err
    assert str(mydir) in err and REFUSED in err and "Traceback" not in err
    assert _tree(mydir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus1", "mydir"], "nothing hidden left beside it"


@pytest.mark.parametrize("command", ["index", "ask"])
def test_a_regular_file_is_refused_and_left_as_it_was(tmp_path, corpus1, capsys, command):
    afile = tmp_path / "afile"
    afile.write_text("hi", "utf-8")
    argv = ["index", "--corpus", str(corpus1), "--index", str(afile)]
    if command == "ask":
        argv = ["ask", "--reader", "embedded", "--index", str(afile), SPOKESMAN]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(afile) in err and "is a file" in err
    assert afile.read_text("utf-8") == "hi"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "corpus1"]


def test_an_empty_folder_and_an_index_are_replaced(tmp_path, corpus1, seeds_dir):
    folder = tmp_path / "idx"
    folder.mkdir()
    assert main(["index", "--corpus", str(corpus1), "--index", str(folder)]) == 0
    assert main(["index", "--corpus", str(seeds_dir), "--index", str(folder)]) == 0
    assert len(BM25Index.load(folder).documents) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus1", "idx"]


def test_save_itself_refuses_what_is_not_an_index(seed_index, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x", "utf-8")
    with pytest.raises(LocationError, match="holds no Sanad index"):
        seed_index.save(tmp_path / "notes")
    assert (tmp_path / "notes" / "a.txt").read_text("utf-8") == "x"


# -- leftovers of killed builds -----------------------------------------------------------------


def test_staging_folders_of_a_killed_build_are_removed_by_the_next_build(tmp_path, seeds_dir):
    folder = tmp_path / "bigidx"
    assert main(["index", "--corpus", str(seeds_dir), "--index", str(folder)]) == 0
    # A build killed (SIGKILL) half-way through writing its staging folder, as `kill -KILL` does.
    killed = (
        "import os, signal, sys\n"
        "from retrieval import index\n"
        "def die(*args, **kwargs): os.kill(os.getpid(), signal.SIGKILL)\n"
        "index._fsync_tree = die\n"
        "from qa.cli import main\n"
        f"main(['index', '--corpus', {str(seeds_dir)!r}, '--index', {str(folder)!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", killed], capture_output=True, text=True, timeout=120)
    assert done.returncode == -9
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".bigidx.")]
    assert len(leftovers) == 1 and (leftovers[0] / "passages.jsonl").exists()
    assert main(["index", "--corpus", str(seeds_dir), "--index", str(folder)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bigidx"]


def test_leftovers_of_older_versions_go_too_but_live_builds_and_foreign_folders_stay(tmp_path, seed_index):
    target = tmp_path / "idx"
    seed_index.save(target)
    dead, alive = _dead_pid(), os.getppid()

    def leftover(name: str, files: tuple[str, ...] = ("passages.jsonl", "params.index.json")) -> Path:
        path = tmp_path / name
        path.mkdir()
        for file in files:
            (path / file).write_text("{}", "utf-8")
        return path

    gone = [leftover(".idx.k3j_x9a2"), leftover(f".idx.old-{dead}"), leftover(f".idx.build-{dead}-abc123")]
    kept = [
        leftover(f".idx.build-{alive}-abc123"),  # another process is building right now
        leftover(".idx.notes123", ("passages.jsonl", "diary.txt")),  # not only index files
        leftover(".idx.k3j_x9a3", ("diary.txt",)),
        leftover(".other.k3j_x9a2"),  # beside another index
    ]
    removed = remove_stale_staging(target)
    assert sorted(removed) == sorted(gone)
    assert all(not p.exists() for p in gone) and all(p.exists() for p in kept)
    assert BM25Index.load(target).search("ماثيو ميلر")


# -- a named index keeps its own corpus ---------------------------------------------------------


def test_ask_with_a_named_index_checks_its_own_corpus_not_the_seeds(tmp_path, corpus1, capsys):
    idx = tmp_path / "idx1"
    assert main(["index", "--corpus", str(corpus1), "--index", str(idx)]) == 0
    capsys.readouterr()
    assert main(["ask", "--json", "--reader", "embedded", "--index", str(idx), SPOKESMAN]) == 0
    captured = capsys.readouterr()
    assert "Rebuilding" not in captured.err
    assert {c["doc_id"] for c in json.loads(captured.out)["citations"]} <= {p.stem for p in corpus1.glob("*.txt")}
    assert len(BM25Index.load(idx).documents) == 2, "still the index of corpus1, not of the five seeds"


def test_a_named_index_is_rebuilt_from_its_own_corpus_when_that_changed(tmp_path, corpus1, capsys):
    idx = tmp_path / "idx1"
    assert main(["index", "--corpus", str(corpus1), "--index", str(idx)]) == 0
    (corpus1 / "009_new.txt").write_text("قال المتحدث باسم الوزارة إن الاجتماع سيعقد غدًا في عمّان.", "utf-8")
    capsys.readouterr()
    assert main(["ask", "--reader", "embedded", "--index", str(idx), SPOKESMAN]) == 0
    err = capsys.readouterr().err
    assert f"The corpus {corpus1.resolve()} changed" in err and f"Rebuilding it from {corpus1.resolve()}" in err
    assert sorted(BM25Index.load(idx).documents) == sorted(p.stem for p in corpus1.glob("*.txt"))


def test_a_named_index_whose_corpus_is_gone_is_used_as_it_is(tmp_path, corpus1, capsys):
    idx = tmp_path / "idx1"
    assert main(["index", "--corpus", str(corpus1), "--index", str(idx)]) == 0
    before = _tree(idx)
    corpus1.rename(tmp_path / "moved")
    capsys.readouterr()
    assert main(["ask", "--reader", "embedded", "--index", str(idx), SPOKESMAN]) == 0
    err = capsys.readouterr().err
    assert "is gone; using the index as it is" in err
    assert _tree(idx) == before
    # `sanad index` cannot rebuild it either, and says so instead of indexing the seeds into it.
    assert main(["index", "--index", str(idx)]) == 1
    assert "which is gone. Pass --corpus" in capsys.readouterr().err
    assert _tree(idx) == before


def test_sanad_index_with_a_named_index_rebuilds_it_from_its_own_corpus(tmp_path, corpus1, capsys):
    idx = tmp_path / "idx1"
    assert main(["index", "--corpus", str(corpus1), "--index", str(idx)]) == 0
    assert main(["index", "--index", str(idx)]) == 0
    assert f"from {corpus1.resolve()}" in capsys.readouterr().out
    assert len(BM25Index.load(idx).documents) == 2


def test_a_damaged_index_is_rebuilt_with_a_message_that_does_not_contradict_itself(tmp_path, seeds_dir):
    folder = tmp_path / "idx"
    open_index(seeds_dir, folder, BuildSettings())
    (folder / "vocab.index.json").unlink()
    notices: list[str] = []
    open_index(seeds_dir, folder, BuildSettings(), notices)
    assert len(notices) == 1
    assert "is damaged" in notices[0] and "Rebuilding it from" in notices[0]
    assert "sanad index" not in notices[0], "Sanad rebuilds it; it does not ask the user to"


# -- places that cannot be written --------------------------------------------------------------


def test_an_index_on_a_read_only_file_system_is_refused_before_building(read_only_dir, seeds_dir, capsys, monkeypatch):
    from retrieval import store

    def no_build(*args, **kwargs):
        raise AssertionError("the corpus was loaded before the location was checked")

    monkeypatch.setattr(store, "load_corpus", no_build)
    target = read_only_dir / "idx"
    assert main(["index", "--corpus", str(seeds_dir), "--index", str(target)]) == 2
    err = capsys.readouterr().err
    assert str(target) in err and "Read-only file system" in err and "Traceback" not in err


def test_an_index_under_proc_is_refused(seeds_dir, capsys):
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    assert main(["index", "--corpus", str(seeds_dir), "--index", "/proc/sanad-idx"]) == 2
    err = capsys.readouterr().err
    assert "/proc/sanad-idx" in err and "Pass --index with a folder you can write to" in err
