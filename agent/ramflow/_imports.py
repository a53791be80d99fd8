"""RSS growth per top-level import, from agent load until ready.

Wraps `builtins.__import__` and `importlib.import_module` (Celery loads apps
with the latter) until ready, then restores both: the cost is paid at start-up
only. A top-level package's growth excludes the top-level packages it imported
itself (the net-self rule applied to imports), so the 20 heaviest name the
libraries to trim, not merely the first one imported.
"""

import builtins
import importlib
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _memory

TOP_IMPORTS = 20


class ImportMeter:
    def __init__(self, on_imported: Callable[[str], None]) -> None:
        self.growth: Dict[str, int] = {}
        self.on_imported = on_imported  # called after a top-level package loads
        self._stack: List[List[int]] = []
        self._original_import: Optional[Callable[..., Any]] = None
        self._original_import_module: Optional[Callable[..., Any]] = None
        # Bound once: each `self._import` access makes a new object, and
        # uninstall() must recognise the one it installed.
        self._import_hook = self._import
        self._import_module_hook = self._import_module

    def install(self) -> None:
        if builtins.__import__ is self._import_hook:
            return
        self._original_import = builtins.__import__
        self._original_import_module = importlib.import_module
        builtins.__import__ = self._import_hook
        importlib.import_module = self._import_module_hook

    def uninstall(self) -> None:
        if self._original_import is None:
            return
        if builtins.__import__ is self._import_hook:
            builtins.__import__ = self._original_import
        if importlib.import_module is self._import_module_hook:
            importlib.import_module = self._original_import_module

    def heaviest(self) -> List[Tuple[str, int]]:
        items = sorted(self.growth.items(), key=lambda kv: kv[1], reverse=True)
        return items[:TOP_IMPORTS]

    def _measured(self, top: str, load: Callable[[], Any]) -> Any:
        frame = [0]
        self._stack.append(frame)
        before = _memory.rss_pages()
        try:
            return load()
        finally:
            gross = _memory.rss_pages() - before
            self._stack.pop()
            if self._stack:
                self._stack[-1][0] += gross
            self.growth[top] = self.growth.get(top, 0) + (gross - frame[0]) * _memory.PAGE_SIZE
            if top in sys.modules:
                try:
                    self.on_imported(top)
                except Exception:
                    pass

    def _import(self, name: str, globals: Any = None, locals: Any = None,
                fromlist: Any = (), level: int = 0) -> Any:
        original = self._original_import
        top = name.partition(".")[0]
        if level != 0 or not top or top in sys.modules:
            return original(name, globals, locals, fromlist, level)
        return self._measured(top, lambda: original(name, globals, locals, fromlist, level))

    def _import_module(self, name: str, package: Optional[str] = None) -> Any:
        original = self._original_import_module
        top = name.partition(".")[0]
        if not top or name.startswith(".") or top in sys.modules:
            return original(name, package)
        return self._measured(top, lambda: original(name, package))
