"""heapscope: a per-cell heap profiler for JupyterLab (kernel side: launcher, agent, CLI)."""

from __future__ import annotations


def _version() -> str:
    # The installed wheel's METADATA beside this package, read directly: importlib.metadata costs ~80 ms
    # of imports, paid by every `heapscope run` (its wall time is what the overhead benchmark measures).
    from pathlib import Path

    for info in sorted(Path(__file__).resolve().parent.parent.glob("heapscope-*.dist-info")):
        try:
            for line in (info / "METADATA").read_text(errors="replace").splitlines():
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
                if not line:
                    break
        except OSError:
            pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("heapscope")
    except PackageNotFoundError:
        # A source checkout that is not installed: the version lives in the repository's package.json.
        import json

        try:
            package_json = Path(__file__).resolve().parents[2] / "package.json"
            return str(json.loads(package_json.read_text())["version"])
        except (OSError, ValueError, KeyError):
            return "0+unknown"


def __getattr__(name: str) -> str:
    # PEP 562: importlib.metadata costs ~80 ms at import; only pay for it when the version is read
    # (``heapscope run`` starts two Python processes, and every one of them imports this package).
    if name == "__version__":
        value = _version()
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
