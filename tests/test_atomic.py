"""Atomic writes: the old file or the new one, never half, and nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.atomic import atomic_path, swap_folder, write_atomic, write_once


def test_write_atomic_replaces_the_file_and_leaves_no_staging(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, "جديد")
    assert target.read_text(encoding="utf-8") == "جديد"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as staging:
        assert staging.name.endswith("-model.onnx")  # suffix kept for tools that go by it
        staging.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_swap_folder_replaces_a_folder_whole(tmp_path: Path) -> None:
    target, staging = tmp_path / "index", tmp_path / ".index-staging"
    target.mkdir()
    (target / "old.txt").write_text("old", encoding="utf-8")
    staging.mkdir()
    (staging / "new.txt").write_text("new", encoding="utf-8")
    swap_folder(staging, target)
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["index"]


def test_write_once_creates_a_private_file_and_never_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "secret"
    assert write_once(path, "first") is True
    assert write_once(path, "second") is False
    assert path.read_text() == "first" and path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret"]  # no staging file left
