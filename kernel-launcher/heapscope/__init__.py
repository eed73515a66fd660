"""heapscope: a per-cell heap profiler for JupyterLab (kernel side: launcher, agent, CLI)."""

from __future__ import annotations


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("heapscope")
    except PackageNotFoundError:
        # A source checkout that is not installed: the version lives in the repository's package.json.
        import json
        from pathlib import Path

        try:
            package_json = Path(__file__).resolve().parents[2] / "package.json"
            return str(json.loads(package_json.read_text())["version"])
        except (OSError, ValueError, KeyError):
            return "0+unknown"


__version__ = _version()
