"""A cell that runs out of memory under a real address-space limit (``RLIMIT_AS``) while the panel is
connected (live ticks flowing): every message the client receives must verify (jupyter_client raises on
a bad signature), the cell must close, and the kernel must keep working."""

from __future__ import annotations

from heapscope.agent.protocol import PROTOCOL_VERSION as V
from kernel_session import of_type

LIMIT = (
    "import resource, os\n"
    "vm = int(open('/proc/self/statm').read().split()[0]) * os.sysconf('SC_PAGE_SIZE')\n"
    "resource.setrlimit(resource.RLIMIT_AS, (vm + 400_000_000, resource.getrlimit(resource.RLIMIT_AS)[1]))\n"
)
# Fills the address space, keeps it full for a moment (small allocations keep failing while the ticker
# thread reads the heap and the agent would send ticks), then drops the list and raises. (A list kept alive
# by the traceback would leave the address space full after the cell: ipykernel's own reply then makes
# libzmq abort on a failed allocation, with or without heapscope.)
FILL = (
    "import time\n"
    "def fill():\n"
    "    hold = []\n"
    "    try:\n"
    "        while True:\n"
    "            hold.append(bytearray({size}))\n"
    "    except MemoryError:\n"
    "        until = time.monotonic() + 0.5\n"
    "        while time.monotonic() < until:\n"
    "            try:\n"
    "                hold.append(bytearray(64))\n"
    "            except MemoryError:\n"
    "                pass\n"
    "        hold.clear()\n"
    "        raise\n"
    "fill()\n"
)


def test_memory_error_under_a_limit_keeps_the_channel_sound(start_kernel):
    # The memory guard (HEAPSCOPE_GUARD) stops a cell before the limit: off here, to reach the limit itself.
    kernel = start_kernel("heapscope", env={"HEAPSCOPE_GUARD": "off"})
    comm_id = kernel.open_comm("heapscope", {"protocol": V, "type": "sync"})
    kernel.wait_comm(comm_id, of_type("history"))
    assert kernel.execute("import numpy\n" + LIMIT, cell_id="limit").status == "ok"
    for n, size in enumerate((1_000_000, 100_000, 10_000, 1_000_000, 100_000)):
        mark = kernel.mark()
        execution = kernel.execute(FILL.format(size=size), cell_id=f"fill-{n}", timeout=120)
        assert execution.status == "error" and execution.reply["ename"] == "MemoryError", execution.reply
        cell = kernel.wait_comm(comm_id, of_type("cell", cell_id=f"fill-{n}"), after=mark)["cell"]
        assert cell["status"] == "error"
        after = kernel.execute("print(sum(range(10)))", cell_id=f"after-{n}")
        assert after.stdout == "45\n"
        kernel.wait_comm(comm_id, of_type("cell", cell_id=f"after-{n}"), after=mark)
    mark = kernel.mark()
    kernel.send_comm(comm_id, {"protocol": V, "type": "sync"})
    history = kernel.wait_comm(comm_id, of_type("history"), after=mark)
    assert history["running"] is None
    assert [c["status"] for c in history["cells"] if c["cell_id"].startswith("fill-")] == ["error"] * 5
    assert kernel.km.is_alive()
