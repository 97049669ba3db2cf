"""Data files that installed packages ship, found without importing the packages: an import
can cost more than the few milliseconds a table made from the file once takes to read back."""
from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path


def package_file(package: str, name: str) -> tuple[Path, str] | None:
    """``name`` inside installed ``package`` and a key naming it (the package's version and the
    file's size: every installation of one version shares what is made from it), or None if
    either cannot be found."""
    try:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return None
        root = Path(list(spec.submodule_search_locations)[0])
        version = re.search(r"__version__\s*=\s*['\"]([\w.+-]+)['\"]", (root / "__init__.py").read_text("utf-8"))
        size = os.stat(root / name).st_size
    except (OSError, ImportError, ValueError, UnicodeDecodeError):
        return None
    return root / name, f"{version.group(1) if version else 'unknown'}-{size}"
