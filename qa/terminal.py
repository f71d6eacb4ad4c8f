"""Arabic on terminals: logical order where the terminal reorders (mlterm, VTE, Konsole…), visual order elsewhere.

A terminal without bidi (xterm, most others) draws characters left to right as they come, so every
Arabic word reads reversed; `visual` reorders each line with the Unicode bidi algorithm (python-bidi)
and aligns it to the right. Either way Latin and digit runs are isolated (U+2068 … U+2069), so a
document id such as «004_31c9022a9ad5315f» stays whole inside an Arabic line.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING

from qa.render import FSI, PDI, isolate

if TYPE_CHECKING:
    from qa.config import TerminalBidi

# The terminals that run the bidi algorithm themselves (their environment variables say who they are).
_BIDI_PROGRAMS = frozenset({"mintty", "Apple_Terminal"})
_VTE_BIDI = 5800  # VTE 0.58 (GNOME Terminal 3.34 and others) reorders by default
LRM, RLM = "\u200e", "\u200f"  # left-to-right and right-to-left marks
_ANSI = re.compile(r"(\033\[[0-9;]*m)")
_MIRRORS = dict(zip("()[]{}<>«»‹›【】", ")(][}{><»«›‹】【"))


def bidi_mode(setting: TerminalBidi, env: Mapping[str, str] = os.environ) -> str:
    """"logical" or "visual": the setting, or for "auto" what the terminal in `env` needs."""
    if setting != "auto":
        return setting
    vte = env.get("VTE_VERSION", "")
    if "MLTERM" in env or "KONSOLE_VERSION" in env or env.get("TERM_PROGRAM") in _BIDI_PROGRAMS:
        return "logical"
    if vte.isdigit() and int(vte) >= _VTE_BIDI:
        return "logical"
    return "visual"


def for_terminal(text: str, mode: str, width: int) -> str:
    """`text` as a terminal `width` columns wide should be sent it: runs isolated, and reordered if `mode` is visual.

    Visual mode takes text without colour codes (the bidi algorithm would move them about).
    """
    # Colour codes such as "\033[1m" are kept out of the isolation ("1m" looks like a Latin run).
    isolated = "".join(part if _ANSI.fullmatch(part) else isolate(part) for part in _ANSI.split(text))
    if mode != "visual":
        # mlterm draws U+2068/U+2069 as boxes (seen on screenshots); a left-to-right mark on each side,
        # which it does not draw, keeps these runs whole just as well: after an L mark, digits count
        # as L (bidi rule W7) and «004_31c9…» is one left-to-right run.
        # The marks would also make a line that starts with «[1]» or «/help» left to right (its first
        # strong character): a right-to-left mark at the start of each Arabic line keeps it right to left.
        marked = isolated.replace(FSI, LRM).replace(PDI, LRM)
        return "\n".join(RLM + line if any(_is_rtl(c) for c in line) else line for line in marked.split("\n"))
    return "\n".join(visual_lines(isolated, width))


def visual_lines(text: str, width: int) -> list[str]:
    """Each line of `text` wrapped to `width`, then in display order; right-to-left lines aligned right."""
    from bidi import get_display  # only visual mode needs it

    lines: list[str] = []
    for line in text.split("\n"):
        if not any(_is_rtl(c) for c in line):
            lines.append(line.replace(FSI, "").replace(PDI, ""))
            continue
        for piece in _wrap(line, max(10, width)):
            shown = get_display(_mirror_outside_isolates(piece), base_dir="R").replace(FSI, "").replace(PDI, "")
            lines.append(" " * max(0, width - _columns(shown)) + shown)
    return lines


def _wrap(line: str, width: int) -> list[str]:
    """`line` cut at spaces into pieces of at most `width` columns (textwrap counts characters, and «【» takes two)."""
    indent = line[: len(line) - len(line.lstrip(" "))]
    pieces, current = [], indent
    for word in line[len(indent) :].split(" "):
        candidate = f"{current} {word}" if current.strip() else current + word
        if _columns(candidate) > width and current.strip():
            pieces.append(current)
            current = word
        else:
            current = candidate
    pieces.append(current)
    return pieces


def _mirror_outside_isolates(text: str) -> str:
    """Brackets and quotes outside the isolated runs, mirrored: all of them sit at a right-to-left level
    (every left-to-right run is isolated), and python-bidi reorders without mirroring (rule L4)."""
    out, depth = [], 0
    for char in text:
        if char == FSI:
            depth += 1
        elif char == PDI:
            depth = max(0, depth - 1)
        out.append(_MIRRORS.get(char, char) if depth == 0 else char)
    return "".join(out)


def _is_rtl(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL")


def _columns(text: str) -> int:
    """Columns a terminal gives `text`: combining marks (Arabic diacritics) take none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
