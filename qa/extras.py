"""Optional dependencies, grouped by pyproject extra: a missing one is a one-line instruction, not a traceback."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType


class MissingExtraError(RuntimeError):
    """A command needs a package from an extra that is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(f"this needs {module}, from an optional extra: pip install 'sanad-qa[{extra}]'")
        self.module = module
        self.extra = extra


def require(module: str, extra: str) -> ModuleType:
    """Import `module`, or raise MissingExtraError naming the extra that provides it."""
    try:
        return import_module(module)
    except ModuleNotFoundError as err:
        raise MissingExtraError(module, extra) from err
