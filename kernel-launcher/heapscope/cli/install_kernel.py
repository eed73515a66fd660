"""``heapscope install-kernel --python PATH [--name NAME] [--prefix PREFIX | --user]``: install a kernelspec
that runs the heapscope kernel with that interpreter (which must have heapscope and ipykernel installed).

:func:`kernel_spec` is the one place a heapscope kernelspec is written: ``install-kernel`` uses it, and the
packaged ``kernel-launcher/kernelspec/kernel.json`` is :func:`default_spec_text` (checked by
``tests/test_cli.py``; regenerate it with ``scripts/kernelspec.sh``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from .common import EXIT_BAD_INPUT, EXIT_OK, BadInput, one_line, say

#: What the packaged kernelspec (and a kernelspec installed for an interpreter without a display name) shows.
DEFAULT_DISPLAY_NAME = "Python 3 (heapscope)"
#: Prints the interpreter's version; runs on any Python (2.7 included), isolated from the environment.
_VERSION_PROBE = "import sys; print('%d.%d.%d' % tuple(sys.version_info[:3]))"
#: Prints ipykernel's own kernelspec metadata; fails when heapscope or ipykernel is missing.
_KERNEL_PROBE = "import json, heapscope.launcher, ipykernel.kernelspec as k; print(json.dumps(k.get_kernel_dict().get('metadata', {})))"


def kernel_spec(
    python: str = "python",
    display_name: str = DEFAULT_DISPLAY_NAME,
    ipykernel_metadata: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """The heapscope kernelspec (``kernel.json``) for an interpreter. ``ipykernel_metadata``: the metadata
    of that interpreter's ipykernel kernelspec; its ``supported_encryption`` is kept (ipykernel 7 supports
    CurveZMQ, ipykernel 6 does not, so the packaged spec, whose ipykernel is not known, claims none)."""
    # `heapscope`: how JupyterLab's extension (switch command, panel) and gateways recognise a heapscope
    # kernelspec, whatever its name (docs/remote-kernels.md).
    metadata: Dict[str, Any] = {"debugger": True, "heapscope": {"profiled": True}}
    encryption = (ipykernel_metadata or {}).get("supported_encryption")
    if encryption:
        metadata["supported_encryption"] = encryption
    return {
        "argv": [python, "-m", "heapscope.launcher", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": metadata,
        "kernel_protocol_version": "5.5",
    }


def default_spec_text() -> str:
    """The text of the packaged ``kernel-launcher/kernelspec/kernel.json``."""
    return json.dumps(kernel_spec(), indent=1) + "\n"


def add_parser(commands: Any) -> None:
    kernel = commands.add_parser(
        "install-kernel",
        help="install a heapscope kernelspec for a given Python interpreter",
        description="Install a kernelspec whose kernel runs `PYTHON -m heapscope.launcher` (absolute path), "
        "for an interpreter that has heapscope and ipykernel installed.",
        epilog="exit status: 0 installed; 2 bad input (an interpreter that is missing, unsupported, or "
        "lacks heapscope or ipykernel), nothing installed",
    )
    kernel.add_argument("--python", required=True, metavar="PATH", help="the interpreter (e.g. a venv's bin/python)")
    kernel.add_argument("--name", default="heapscope", help="kernelspec name (default: heapscope)")
    kernel.add_argument("--display-name", default=None, help="default: 'Python X.Y.Z (heapscope)'")
    where = kernel.add_mutually_exclusive_group()
    where.add_argument(
        "--prefix", default=sys.prefix, help="install under PREFIX/share/jupyter/kernels (default: this environment)"
    )
    where.add_argument("--user", action="store_true", help="install for the current user")
    kernel.set_defaults(handler=cmd_install_kernel)


def _probe(command: Sequence[str]) -> Any:
    import subprocess

    try:
        return subprocess.run(list(command), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInput(f"{command[0]} cannot be run: {one_line(exc)}") from None


def check_interpreter(python: Path) -> Tuple[str, Dict[str, Any]]:
    """``(version, ipykernel's kernelspec metadata)`` of an interpreter that can run the heapscope kernel,
    or :class:`BadInput` saying why it cannot (unsupported versions are refused before anything else)."""
    from ..launcher import SUPPORTED_PYTHONS, supported_range

    run = _probe([str(python), "-I", "-c", _VERSION_PROBE])
    version = run.stdout.strip()
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        detail = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
        raise BadInput(f"{python} is not a Python interpreter that works: {one_line(detail)}") from None
    low, high = SUPPORTED_PYTHONS
    if not low <= (major, minor) <= high:
        raise BadInput(f"Python {version} ({python}) is not supported by heapscope: {supported_range()} are")
    run = _probe([str(python), "-c", _KERNEL_PROBE])
    if run.returncode != 0:
        raise BadInput(
            f"{python} cannot run the heapscope kernel (install heapscope and ipykernel into it): "
            f"{one_line((run.stderr.strip().splitlines() or ['?'])[-1])}"
        )
    try:
        metadata = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        metadata = {}
    return version, metadata if isinstance(metadata, dict) else {}


def cmd_install_kernel(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from jupyter_client.kernelspec import KernelSpecManager

    from ..files import write_text

    python = Path(args.python)
    if not python.is_absolute():
        python = Path(shutil.which(str(python)) or python).absolute()
    try:
        version, metadata = check_interpreter(python)
    except BadInput as exc:
        say(str(exc))
        return EXIT_BAD_INPUT
    spec = kernel_spec(str(python), args.display_name or f"Python {version} (heapscope)", metadata)
    logos = list((Path(sys.prefix) / "share" / "jupyter" / "kernels" / "heapscope").glob("logo-*"))
    with tempfile.TemporaryDirectory() as tmp:
        write_text(Path(tmp) / "kernel.json", json.dumps(spec, indent=1) + "\n")
        for logo in logos:
            shutil.copy(logo, tmp)
        dest = KernelSpecManager().install_kernel_spec(
            tmp, args.name, user=args.user, prefix=None if args.user else args.prefix
        )
    say(f"installed kernelspec {args.name!r} ({spec['display_name']}) in {dest}")
    return EXIT_OK
