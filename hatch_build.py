"""Build hook: compile the C shim and check the prebuilt labextension.

The wheel carries ``heapscope/_lib/libheapscope.so`` (built by ``make -C shim``),
one ``heapscope/_bridge<EXT_SUFFIX>`` per CPython minor version found at build
time (``make -C shim bridges``: pyenv 3.9-3.13 and the project's .venv; each is
named by its own EXT_SUFFIX, so they sit side by side and each Python imports
its own), and the labextension built by ``npm run build:prod``. Neither the shim
nor the bridges link libpython, so the wheel stays ``py3-none-<platform>``.
"""

import json
import os
import subprocess
import sysconfig
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    """Compile ``shim/`` into the package and tag the wheel for this platform."""

    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        pkg_version = json.loads((root / "package.json").read_text())["version"]
        subprocess.run(
            ["make", "-C", str(root / "shim"), f"VERSION={pkg_version}", "lib", "bridges"],
            check=True,
        )
        lib = root / "shim" / "build" / "libheapscope.so"
        build_data["force_include"][str(lib)] = "heapscope/_lib/libheapscope.so"
        bridges = sorted((root / "shim" / "build" / "bridge").glob("_bridge.cpython-3*.so"))
        if not bridges:
            raise RuntimeError("no heapscope._bridge was built: no CPython 3.9-3.13 found by `make -C shim bridges`")
        for bridge in bridges:
            build_data["force_include"][str(bridge)] = f"heapscope/{bridge.name}"
        labext = root / "kernel-launcher" / "heapscope" / "labextension" / "package.json"
        if not labext.exists() and not os.environ.get("HEAPSCOPE_SKIP_LABEXTENSION"):
            raise RuntimeError(
                "The prebuilt labextension is missing: run `npm ci && npm run build:prod` first "
                "(or `make setup`, which does everything)."
            )
        tpl = root / "kernel-launcher" / "heapscope" / "report_assets" / "report.template"
        if tpl.exists():
            build_data["force_include"][str(tpl)] = "heapscope/report_assets/report.template"
        elif not os.environ.get("HEAPSCOPE_SKIP_LABEXTENSION"):
            raise RuntimeError("The HTML report template is missing: run `npm run build:prod` first.")
        build_data["pure_python"] = False
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        build_data["tag"] = f"py3-none-{platform}"
