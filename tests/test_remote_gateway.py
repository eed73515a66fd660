"""heapscope behind Jupyter Enterprise Gateway, end to end, with no mocks (issue 15).

A real jupyter-enterprise-gateway 3.3.0 (from ``.venv-gateway``, made by ``scripts/gateway-env.sh``: EG and the
heapscope wheel installed together, so its kernels run ipykernel 6.29 / jupyter_client 6.1) and a real Jupyter
server from ``.venv`` started with ``--gateway-url``. The test talks to the *server* as JupyterLab does: REST
for kernels, the kernel websocket for messages, a ``heapscope`` comm opened from the client side. Checked:
the comm's history and status, cell messages with real numbers (numpy), an interrupt, a restart (a fresh
ledger and a new process), and the mode asked for over the protocol after the restart.

Skips only when ``.venv-gateway`` is missing (``scripts/setup.sh --tests`` makes it); with ``CI=true`` a
missing environment fails instead.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_VENV = ROOT / ".venv-gateway"
GATEWAY = GATEWAY_VENV / "bin" / "jupyter-enterprisegateway"
TIMEOUT = 90.0
MB = 10**6

pytestmark = pytest.mark.timeout(600)


def _need_gateway() -> None:
    if GATEWAY.is_file():
        return
    why = f"{GATEWAY} is missing: run `bash scripts/gateway-env.sh` (scripts/setup.sh --tests does)"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env() -> Dict[str, str]:
    drop = ("HEAPSCOPE_SHIM_PATH", "HEAPSCOPE_ENABLE", "HEAPSCOPE_SHIM_ERROR", "HEAPSCOPE_MODE", "LD_PRELOAD")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("JUPYTER", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


class Process:
    """A server started for the test, its output in a log file, stopped (and its group killed) at the end."""

    def __init__(self, name: str, argv: List[str], env: Dict[str, str], cwd: Path, log_dir: Path):
        self.name = name
        self.log = log_dir / f"{name}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_http(self, url: str, timeout: float = TIMEOUT, headers: Optional[Dict[str, str]] = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise TimeoutError(f"{self.name} did not answer {url} in {timeout} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, 9)  # kernels the gateway started in the same session
        except OSError:
            pass
        self.proc.wait(15)
        self._out.close()


class Lab:
    """The Jupyter server (``--gateway-url``) as JupyterLab sees it: REST with a token."""

    def __init__(self, base: str, token: str, root_dir: Path):
        self.base = base
        self.token = token
        self.root_dir = root_dir

    def request(self, method: str, path: str, body: Optional[Any] = None, timeout: float = TIMEOUT) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None


REMOTE_DOCS = ROOT / "docs" / "remote"


def _image_kernelspecs(work: Path) -> Path:
    """Kernelspecs that start the kernel *without* heapscope's launcher, as kernel images do
    (docs/remote-kernels.md), made from the files of docs/remote/ for this machine's paths; returns the
    JUPYTER_PATH folder that holds them. The agent comes from IPython's kernel configuration (IPYTHONDIR)."""
    data = work / "jupyter-data"
    ipython = work / "ipython" / "profile_default"
    ipython.mkdir(parents=True)
    (ipython / "ipython_kernel_config.json").write_text((REMOTE_DOCS / "ipython_kernel_config.json").read_text())
    python = str(GATEWAY_VENV / "bin" / "python")
    shim = subprocess.run(
        [python, "-c", "import heapscope.launcher as l; print(l.packaged_shim())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with_env = json.loads((REMOTE_DOCS / "kernelspecs" / "python_env_heapscope" / "kernel.json").read_text())
    assert with_env["env"]["LD_PRELOAD"].endswith("/site-packages/heapscope/_lib/libheapscope.so")
    with_env["env"]["LD_PRELOAD"] = shim
    agent_config = {"IPYTHONDIR": str(ipython.parent)}
    plain = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    specs = {
        "hs-env": with_env,
        "hs-wrapper": {
            "argv": [str(REMOTE_DOCS / "heapscope-python"), *plain[1:]],
            "env": {**agent_config, "HEAPSCOPE_PYTHON": python},
        },
        "hs-agent-only": {"argv": plain, "env": agent_config},
    }
    for name, spec in specs.items():
        spec = {"display_name": name, "language": "python", "interrupt_mode": "signal", "metadata": {}, **spec}
        folder = data / "kernels" / name
        folder.mkdir(parents=True)
        (folder / "kernel.json").write_text(json.dumps(spec))
    return data


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    _need_gateway()
    work = tmp_path_factory.mktemp("gateway")
    logs = work / "logs"
    logs.mkdir()
    eg_port, lab_port = free_port(), free_port()
    env = _clean_env()
    env["JUPYTER_RUNTIME_DIR"] = str(work / "runtime-eg")
    env["JUPYTER_PATH"] = str(_image_kernelspecs(work))
    if os.geteuid() == 0:
        # EG refuses kernels for root (its unauthorized_users). The user name comes from the *server's*
        # KERNEL_USERNAME: jupyter_server's gateway client sends its KERNEL_* variables with each start.
        env["KERNEL_USERNAME"] = "heapscope-test"
    eg = Process(
        "gateway",
        [
            str(GATEWAY),
            "--ip=127.0.0.1",
            f"--port={eg_port}",
            "--EnterpriseGatewayApp.list_kernels=True",  # else the server's /api/kernels (and Lab's status) gets 403
        ],
        env,
        work,
        logs,
    )
    server = None
    try:
        eg.wait_http(f"http://127.0.0.1:{eg_port}/api")
        token = secrets.token_hex(16)
        server_env = {**_clean_env(), **{k: v for k, v in env.items() if k == "KERNEL_USERNAME"}}
        server_env["JUPYTER_RUNTIME_DIR"] = str(work / "runtime-lab")
        root_dir = work / "lab-root"
        root_dir.mkdir()
        server = Process(
            "server",
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={lab_port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root_dir}",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_root=True",
                f"--gateway-url=http://127.0.0.1:{eg_port}",
            ],
            server_env,
            work,
            logs,
        )
        base = f"http://127.0.0.1:{lab_port}"
        server.wait_http(f"{base}/api/status", headers={"Authorization": f"token {token}"})
        yield Lab(base, token, root_dir)
    finally:
        if server is not None:
            server.stop()
        eg.stop()
        print(f"gateway and server logs: {logs}")  # pytest's temporary folder keeps them (shown with -s or on failure)


class RemoteKernel:
    """One kernel through the server's websocket (JupyterLab's JSON framing, no subprotocol)."""

    def __init__(self, lab: Lab, kernel_id: str):
        import websocket  # websocket-client, a dependency of jupyter_server

        self.lab = lab
        self.id = kernel_id
        self.session = uuid.uuid4().hex
        url = lab.base.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels?session_id={self.session}"
        self.ws = websocket.create_connection(url, header=[f"Authorization: token {lab.token}"], timeout=TIMEOUT)
        self.messages: List[Dict[str, Any]] = []

    def close(self) -> None:
        self.ws.close()

    def send(self, channel: str, msg_type: str, content: Dict[str, Any], metadata: Optional[dict] = None) -> str:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "username": "test",
            "session": self.session,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "version": "5.3",
        }
        msg = {"header": header, "parent_header": {}, "metadata": metadata or {}, "content": content}
        self.ws.send(json.dumps({**msg, "channel": channel, "buffers": []}))
        return msg_id

    def wait(self, until: Callable[[Dict[str, Any]], bool], timeout: float = TIMEOUT, after: int = 0) -> Dict[str, Any]:
        for msg in self.messages[after:]:
            if until(msg):
                return msg
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                raw = self.ws.recv()
            except Exception as exc:  # websocket timeout
                if "timed out" in str(exc).lower():
                    break
                raise
            msg = json.loads(raw)
            self.messages.append(msg)
            if until(msg):
                return msg
        raise TimeoutError(f"no matching message in {timeout} s; last: {[m['msg_type'] for m in self.messages[-8:]]}")

    def mark(self) -> int:
        return len(self.messages)

    def reply(self, msg_id: str, timeout: float = TIMEOUT) -> Dict[str, Any]:
        return self.wait(
            lambda m: (
                m.get("channel") in ("shell", "control")
                and m["msg_type"].endswith("_reply")
                and m["parent_header"].get("msg_id") == msg_id
            ),
            timeout,
        )

    def ready(self) -> Dict[str, Any]:
        return self.reply(self.send("shell", "kernel_info_request", {}))["content"]

    def execute(self, code: str, cell_id: str, timeout: float = TIMEOUT) -> Dict[str, Any]:
        msg_id = self.start_execute(code, cell_id)
        return self.reply(msg_id, timeout)["content"]

    def start_execute(self, code: str, cell_id: str) -> str:
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        return self.send("shell", "execute_request", content, {"cellId": cell_id})

    def run(self, code: str, cell_id: str, timeout: float = TIMEOUT) -> Dict[str, Any]:
        """Execute and wait until the kernel is idle again (all its output is in); returns the reply's content."""
        msg_id = self.start_execute(code, cell_id)
        reply = self.reply(msg_id, timeout)["content"]
        self.wait(
            lambda m: (
                m["msg_type"] == "status"
                and m["parent_header"].get("msg_id") == msg_id
                and m["content"]["execution_state"] == "idle"
            ),
            timeout,
        )
        return {**reply, "stdout": self.stdout(msg_id)}

    def stdout(self, msg_id: str) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.messages
            if m["msg_type"] == "stream" and m["parent_header"].get("msg_id") == msg_id
        )

    def open_comm(self, data: Any) -> str:
        comm_id = uuid.uuid4().hex
        self.send("shell", "comm_open", {"comm_id": comm_id, "target_name": "heapscope", "data": data})
        return comm_id

    def send_comm(self, comm_id: str, data: Any) -> None:
        self.send("shell", "comm_msg", {"comm_id": comm_id, "data": data})

    def comm(self, comm_id: str, kind: str, timeout: float = TIMEOUT, after: int = 0, **fields: Any) -> Dict[str, Any]:
        def match(m: Dict[str, Any]) -> bool:
            if m["msg_type"] != "comm_msg" or m["content"].get("comm_id") != comm_id:
                return False
            data = m["content"]["data"]
            if data.get("type") != kind:
                return False
            cell = data.get("cell") or {}
            return all(cell.get(k) == v for k, v in fields.items())

        return self.wait(match, timeout, after)["content"]["data"]


def _start_kernel(lab: Lab) -> RemoteKernel:
    specs = lab.request("GET", "/api/kernelspecs")["kernelspecs"]
    assert "heapscope" in specs, f"the gateway does not offer the heapscope kernelspec: {sorted(specs)}"
    assert specs["heapscope"]["spec"]["metadata"].get("heapscope"), "the kernelspec's heapscope metadata is lost"
    model = lab.request("POST", "/api/kernels", {"name": "heapscope"}, timeout=TIMEOUT)
    kernel = RemoteKernel(lab, model["id"])
    kernel.ready()
    return kernel


@pytest.fixture(scope="module")
def kernel(lab: Lab) -> Iterator[RemoteKernel]:
    k = _start_kernel(lab)
    try:
        yield k
    finally:
        k.close()
        try:
            lab.request("DELETE", f"/api/kernels/{k.id}")
        except Exception:
            pass


def test_the_gateway_kernel_runs_the_oldest_supported_stack(lab: Lab, kernel: RemoteKernel) -> None:
    assert lab.request("GET", "/api/kernels"), "list_kernels is on: the server sees the gateway's kernels"
    result = kernel.run(
        "import ipykernel, jupyter_client, sys; print(ipykernel.__version__, jupyter_client.__version__, sys.prefix)",
        "versions",
    )
    assert result["status"] == "ok", result
    ipykernel, client, prefix = result["stdout"].split()
    assert ipykernel.startswith("6."), ipykernel
    assert client.startswith("6."), client
    assert Path(prefix).resolve() == GATEWAY_VENV.resolve()


def test_cells_behind_the_gateway_carry_real_numbers(kernel: RemoteKernel) -> None:
    comm = kernel.open_comm({"protocol": 2, "type": "sync"})
    history = kernel.comm(comm, "history")
    status = history["status"]
    assert status["active"] is True, status.get("reason")
    assert status["attribution"] is True, status.get("attribution_reason")

    after = kernel.mark()
    reply = kernel.execute("import numpy as np\nbig = np.ones(25_000_000)  # 200 MB", "cell-alloc")
    assert reply["status"] == "ok", reply
    cell = kernel.comm(comm, "cell", after=after, cell_id="cell-alloc")["cell"]
    grew = cell["end_bytes"] - cell["start_bytes"]
    assert 200 * MB <= grew < 300 * MB, cell
    assert cell["peak_bytes"] >= cell["end_bytes"]
    top = cell["top_at_peak"]
    assert top[0]["cell_id"] == "cell-alloc" and top[0]["cell_line"] == 2 and top[0]["bytes"] >= 200 * MB, top[0]

    after = kernel.mark()
    assert kernel.execute("del big", "cell-free")["status"] == "ok"
    cell = kernel.comm(comm, "cell", after=after, cell_id="cell-free")["cell"]
    assert cell["start_bytes"] - cell["end_bytes"] >= 199 * MB, cell


def test_interrupt_through_the_gateway(lab: Lab, kernel: RemoteKernel) -> None:
    comm = kernel.open_comm({"protocol": 2, "type": "sync"})
    kernel.comm(comm, "history")
    after = kernel.mark()
    msg_id = kernel.start_execute("import time\nfor _ in range(600):\n    time.sleep(0.1)", "cell-sleep")
    kernel.comm(comm, "cell_start", after=after)
    lab.request("POST", f"/api/kernels/{kernel.id}/interrupt")
    reply = kernel.reply(msg_id)["content"]
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
    cell = kernel.comm(comm, "cell", after=after, cell_id="cell-sleep")["cell"]
    assert cell["status"] == "interrupted", cell


def test_restart_through_the_gateway_starts_a_fresh_ledger_in_a_new_process(lab: Lab, kernel: RemoteKernel) -> None:
    comm = kernel.open_comm({"protocol": 2, "type": "sync"})
    before = kernel.comm(comm, "history")
    assert before["cells"], "the earlier tests' runs are in the ledger"
    # The mode travels over the protocol: asked for before the restart, and again on the new comm, as the
    # panel does on every (re)connect; nothing on the kernel's side keeps it (a restart in a new container
    # could not read it back).
    after = kernel.mark()
    kernel.send_comm(comm, {"protocol": 2, "type": "configure", "mode": "exact"})
    # (a status from the last cell may still come first: the kernel sends at most two a second after cells)
    kernel.wait(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == comm
            and m["content"]["data"].get("type") == "status"
            and m["content"]["data"]["status"].get("pending_mode") == "exact"
        ),
        TIMEOUT,
        after,
    )
    lab.request("POST", f"/api/kernels/{kernel.id}/restart", timeout=TIMEOUT)
    kernel.ready()
    comm = kernel.open_comm({"protocol": 2, "type": "sync"})
    after_restart = kernel.comm(comm, "history")
    assert after_restart["status"]["pid"] != before["status"]["pid"]
    assert after_restart["cells"] == []
    assert after_restart["status"]["mode"] == "default", "nothing on the kernel's side kept the mode"
    after = kernel.mark()
    kernel.send_comm(comm, {"protocol": 2, "type": "configure", "mode": "exact"})
    assert kernel.execute("import numpy as np\nx = np.arange(3_000_000)", "cell-after-restart")["status"] == "ok"
    cell = kernel.comm(comm, "cell", after=after, cell_id="cell-after-restart")["cell"]
    assert cell["seq"] == 1
    assert cell["mode"] == "exact", cell
    assert cell["end_bytes"] - cell["start_bytes"] >= 24 * MB


def _kernel_named(lab: Lab, name: str) -> RemoteKernel:
    model = lab.request("POST", "/api/kernels", {"name": name}, timeout=TIMEOUT)
    kernel = RemoteKernel(lab, model["id"])
    kernel.ready()
    return kernel


@pytest.mark.parametrize("name", ["hs-env", "hs-wrapper"])
def test_kernels_started_without_our_launcher_are_profiled(lab: Lab, name: str) -> None:
    """hs-env: the kernelspec sets LD_PRELOAD and HEAPSCOPE_ENABLE and runs ipykernel_launcher --ext
    heapscope.agent; hs-wrapper: docs/remote/heapscope-python runs ipykernel_launcher and IPython's kernel
    configuration (docs/remote/ipython_kernel_config.json) loads the agent, as in the Docker image."""
    kernel = _kernel_named(lab, name)
    try:
        comm = kernel.open_comm({"protocol": 2, "type": "sync"})
        status = kernel.comm(comm, "history")["status"]
        assert status["active"] is True, status.get("reason")
        after = kernel.mark()
        code = (
            "import numpy as np, os\nblock = np.ones(12_500_000)  # 100 MB\nprint(repr(os.environ.get('LD_PRELOAD')))"
        )
        result = kernel.run(code, "cell-image")
        assert result["status"] == "ok", result
        cell = kernel.comm(comm, "cell", after=after, cell_id="cell-image")["cell"]
        assert cell["end_bytes"] - cell["start_bytes"] >= 100 * MB, cell
        assert cell["top_at_peak"][0]["cell_line"] == 2, cell["top_at_peak"][0]
        # The shim took itself out of LD_PRELOAD: the kernel's children are not profiled.
        assert result["stdout"].strip() == "None"
    finally:
        kernel.close()
        lab.request("DELETE", f"/api/kernels/{kernel.id}")


def test_a_kernel_without_the_shim_says_so_in_the_status(lab: Lab) -> None:
    kernel = _kernel_named(lab, "hs-agent-only")
    try:
        comm = kernel.open_comm({"protocol": 2, "type": "sync"})
        status = kernel.comm(comm, "history")["status"]
        assert status["active"] is False
        assert "not preloaded" in status["reason"] and "docs/remote-kernels.md" in status["reason"], status["reason"]
        assert kernel.run("x = 1", "cell-unprofiled")["status"] == "ok"
    finally:
        kernel.close()
        lab.request("DELETE", f"/api/kernels/{kernel.id}")


def test_frames_of_kernel_side_files_carry_their_code(lab: Lab, kernel: RemoteKernel, tmp_path: Path) -> None:
    """A module that exists only where the kernel runs (not under the Lab server's root): its frames carry
    the line's text, read by the kernel, so that the drill-down can show code the Lab host does not have."""
    module_dir = tmp_path / "kernel-host-only"
    module_dir.mkdir()
    (module_dir / "remote_only.py").write_text(
        "import numpy as np\n\n\ndef make_block():\n    return np.ones(6_250_000)  # 50 MB, on the kernel's host\n"
    )
    comm = kernel.open_comm({"protocol": 2, "type": "sync"})
    kernel.comm(comm, "history")
    after = kernel.mark()
    code = f"import sys\nsys.path.insert(0, {str(module_dir)!r})\nimport remote_only\nheld = remote_only.make_block()"
    assert kernel.run(code, "cell-remote-file")["status"] == "ok"
    cell = kernel.comm(comm, "cell", after=after, cell_id="cell-remote-file")["cell"]
    top = cell["top_at_peak"][0]
    assert top["bytes"] >= 50 * MB, top
    frame = next(f for f in top["stack"] if f["file"].endswith("remote_only.py"))
    assert frame["line"] == 5 and frame["source"] == "return np.ones(6_250_000)  # 50 MB, on the kernel's host"
    cell_frame = next(f for f in top["stack"] if f["cell_id"] == "cell-remote-file")
    assert "source" not in cell_frame, "a cell's code comes from the notebook, not from the kernel"
    assert not Path(lab.root_dir, frame["file"].lstrip("/")).exists()
