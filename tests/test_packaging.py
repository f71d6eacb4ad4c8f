"""The wheel: every package of the checkout, and the seed articles as the default corpus of an install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What building the wheel reads; copied so that the build's own folders (build/, *.egg-info) stay out of the checkout.
SOURCES = ["pyproject.toml", "README.md", "retrieval", "qa", "bot", "web", "seeds"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools in this environment")
    tree = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tree / name)
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(tree)],
        capture_output=True, text=True, timeout=240,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (path,) = out.glob("sanad_qa-*.whl")
    return path


def test_the_wheel_carries_the_seed_articles_and_gold(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    seeds = ROOT / "seeds"
    expected = {f"qa/seeds/{p.name}" for p in [*seeds.glob("*.txt"), seeds / "gold.jsonl"]}
    assert len(expected) == 6 and expected <= names


def test_the_wheel_has_every_package_of_the_checkout(wheel: Path):
    """pyproject lists its packages by hand (for the seeds' mapping): a new one must be added there."""
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.relative_to(ROOT)) for top in ("retrieval", "qa", "bot", "web") for p in (ROOT / top).rglob("__init__.py")}
    assert packages - names == set()


def test_an_installed_wheel_defaults_to_its_own_seeds(wheel: Path, tmp_path: Path):
    """Unpacked as pip installs it, away from any checkout: the default corpus is the seeds it carries."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "from qa.config import default_corpus\n"
        "from retrieval.corpus import load_corpus\n"
        "corpus = default_corpus()\n"
        "print(corpus)\n"
        "print(len(load_corpus(corpus).documents))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], cwd=elsewhere, env={"PYTHONPATH": str(site), "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    corpus, documents = ran.stdout.split()
    assert Path(corpus) == site / "qa" / "seeds"
    assert int(documents) == len(list((ROOT / "seeds").glob("*.txt")))
