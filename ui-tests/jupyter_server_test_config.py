"""Server configuration for the Galata tests (never use it for a real server: it disables security)."""

import atexit
import os
import shutil

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
# The kernels of this server validate each message they send against its schema (heapscope._env).
os.environ.setdefault("HEAPSCOPE_CHECK_MESSAGES", "1")
# The root under $HOME, as most users have it: jupyter_server then reports it as `~/…`, and the
# file links (files_live.spec.ts) must still appear. JUPYTERLAB_GALATA_ROOT_DIR still overrides.
# One fixed folder, emptied at each start (one Galata server runs at a time: fixed port, flock), so
# a killed server leaves at most this folder behind.
if "JUPYTERLAB_GALATA_ROOT_DIR" not in os.environ:
    _root = os.path.join(os.path.expanduser("~"), "heapscope-galata-root")
    shutil.rmtree(_root, ignore_errors=True)
    os.makedirs(_root, mode=0o700)
    atexit.register(shutil.rmtree, _root, True)
    c.ServerApp.root_dir = _root  # noqa: F821
c.ServerApp.port = 8891  # noqa: F821  (not 8888: leave a developer's own JupyterLab alone)
c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821  (CI runs as root)
c.LabApp.news_url = None  # noqa: F821  (no network)
c.LabServerApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"  # noqa: F821
# Notebook 7 (notebook7.spec.ts) shares the server; let its pages expose `window.jupyterapp` too.
c.JupyterNotebookApp.expose_app_in_browser = True  # noqa: F821
