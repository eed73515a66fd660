"""The agent's comm under hostile input, on real kernels: strings JSON over UTF-8 cannot carry, stale
comms of closed pages, huge input, and a fuzz run of generated messages. The channel must stay open and
later cells must still reach the client."""

from __future__ import annotations

import json
import math

import pytest

from heapscope.agent.protocol import LIMITS, validate_outgoing
from heapscope.agent.protocol import PROTOCOL_VERSION as V
from kernel_session import KernelSession, of_type

SYNC = {"protocol": V, "type": "sync"}


def open_comm(kernel: KernelSession, data=SYNC) -> str:
    comm_id = kernel.open_comm("heapscope", data)
    kernel.wait_comm(comm_id, of_type("history"))
    return comm_id


def browser_json(kernel: KernelSession, deep: int = 0) -> None:
    """Make the client serialise as a browser does: ``JSON.stringify`` writes a lone surrogate as a
    ``\\ud800`` escape (jupyter_client's packer refuses it); NaN is kept as Python's ``NaN`` token; the
    string ``"__DEEP__"`` becomes a list nested ``deep`` levels (no encoder nests that far)."""

    def pack(obj) -> bytes:
        text = json.dumps(obj, ensure_ascii=True, allow_nan=True, default=str)
        if deep:
            text = text.replace('"__DEEP__"', "[" * deep + "]" * deep)
        return text.encode("ascii")

    kernel.kc.session.pack = pack


def cells_sent(kernel: KernelSession, comm_id: str, cell_id: str) -> int:
    return sum(1 for d in kernel.comm_data(comm_id) if of_type("cell", cell_id=cell_id)(d))


# --- strings from the kernel ---------------------------------------------------------------------------

SURROGATE_CELL = (
    "ns = {}\n"
    "exec(compile('def grow():\\n    out = []\\n    for _ in range(20):\\n        out.append(bytearray(1_000_000))\\n'\n"
    "             '    return out\\n', '\\ud800.py', 'exec'), ns)\n"
    "grow = ns['grow']\n"
    "names = {'co_qualname': 'f\\udcff'} if hasattr(grow.__code__, 'co_qualname') else {}\n"
    "grow.__code__ = grow.__code__.replace(co_name='f\\udcff', **names)\n"
    "kept = grow()\n"
)


def test_a_lone_surrogate_in_a_frame_does_not_silence_the_panel(heapscope_kernel):
    first = open_comm(heapscope_kernel)
    heapscope_kernel.execute(SURROGATE_CELL, cell_id="surrogate")
    cell = heapscope_kernel.wait_comm(first, of_type("cell", cell_id="surrogate"), timeout=30)["cell"]
    site = cell["top_at_peak"][0]
    assert site["file"] == "\ufffd.py" and site["function"] == "f\ufffd", site  # replaced, not dropped
    assert site["cell_id"] == "surrogate"

    # The same comm, and one opened after a page reload, keep working.
    heapscope_kernel.execute("after = 1", cell_id="after")
    heapscope_kernel.wait_comm(first, of_type("cell", cell_id="after"), timeout=30)
    second = heapscope_kernel.open_comm("heapscope", SYNC)
    history = heapscope_kernel.wait_comm(second, of_type("history"), timeout=30)
    assert [c["cell_id"] for c in history["cells"]] == ["surrogate", "after"]
    heapscope_kernel.execute("later = 2", cell_id="later")
    for comm_id in (first, second):
        heapscope_kernel.wait_comm(comm_id, of_type("cell", cell_id="later"), timeout=30)
    mark = heapscope_kernel.mark()
    heapscope_kernel.send_comm(second, {"protocol": V, "type": "cell_detail", "seq": cell["seq"]})
    detail = heapscope_kernel.wait_comm(second, of_type("cell_detail"), after=mark)
    assert detail["cell"]["top_at_peak"][0]["stack"][0]["file"] == "\ufffd.py"
    assert not [m for m in heapscope_kernel.iopub if m["msg_type"] == "comm_close"]


def test_a_lone_surrogate_from_the_browser_is_answered(heapscope_kernel):
    browser_json(heapscope_kernel)
    comm_id = open_comm(heapscope_kernel)
    mark = heapscope_kernel.mark()
    heapscope_kernel.send_comm(comm_id, {"protocol": V, "type": "\ud800"})
    error = heapscope_kernel.wait_comm(comm_id, of_type("error"), after=mark)
    assert validate_outgoing(error) is None, error
    # (A lone surrogate in a cell's *source* never reaches the agent: ipykernel fails to echo the code.)
    heapscope_kernel.execute("x = 1", cell_id="\udfff-id")
    cell = heapscope_kernel.wait_comm(comm_id, of_type("cell"), after=mark)["cell"]
    assert cell["cell_id"] == "\ufffd-id"


# --- stale comms ---------------------------------------------------------------------------------------


def test_closed_and_abandoned_comms_are_dropped(heapscope_kernel):
    """A closed comm gets nothing; pages closed without a ``comm_close`` (a reload, a closed tab) do not
    pile up: beyond 16 comms the one least recently heard from is closed by the kernel."""
    kernel = heapscope_kernel
    first = [open_comm(kernel) for _ in range(12)]
    closed, keeper = first[:6], first[6]
    for comm_id in closed:
        kernel.send_shell("comm_close", {"comm_id": comm_id, "data": {}})
    later = []
    for n in range(20):
        later.append(open_comm(kernel))
        if n % 5 == 4:  # a live page: it talks now and then (a sync, a cell_detail...)
            mark = kernel.mark()
            kernel.send_comm(keeper, SYNC)
            kernel.wait_comm(keeper, of_type("history"), after=mark)
    kernel.execute("n = 1", cell_id="fan-out")
    kernel.wait_comm(later[-1], of_type("cell", cell_id="fan-out"), timeout=30)
    comms = first + later
    receivers = [c for c in comms if cells_sent(kernel, c, "fan-out")]
    assert not set(receivers) & set(closed)
    assert len(receivers) == 16, len(receivers)
    assert keeper in receivers and later[-15:] == [c for c in receivers if c != keeper]
    told = {m["content"]["comm_id"] for m in kernel.iopub if m["msg_type"] == "comm_close"}
    assert set(comms) - set(receivers) - set(closed) <= told  # told, so that a live page can reconnect


# --- caps ----------------------------------------------------------------------------------------------


def test_huge_input_is_cut_with_a_marker(heapscope_kernel):
    comm_id = open_comm(heapscope_kernel)
    mark = heapscope_kernel.mark()
    heapscope_kernel.send_comm(comm_id, {"protocol": V, "type": "t" * 1_000_000})
    error = heapscope_kernel.wait_comm(comm_id, of_type("error"), after=mark)
    assert len(error["message"]) <= 1000 and "truncated" in error["message"], len(error["message"])

    big_id, big_source = "i" * 1_000_000, "x = 1\n# " + "s" * 1_100_000
    for n in range(3):
        heapscope_kernel.execute(big_source, cell_id=f"{n}{big_id}")
        cell = heapscope_kernel.wait_comm(comm_id, of_type("cell"), after=mark)["cell"]
        mark = heapscope_kernel.mark()
        assert len(cell["cell_id"]) <= LIMITS["CellId"] and cell["cell_id"].endswith("[truncated]")
        assert len(cell["source"]) <= LIMITS["Source"] and cell["source"].endswith("[truncated]")
    heapscope_kernel.send_comm(comm_id, SYNC)
    history = heapscope_kernel.wait_comm(comm_id, of_type("history"), after=mark)
    assert len(json.dumps(history)) < 3 * LIMITS["Source"] + 100_000
    assert validate_outgoing(history) is None


# --- fuzz ----------------------------------------------------------------------------------------------


def test_fuzzed_messages_leave_the_kernel_and_the_channel_alive(heapscope_kernel):
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    kernel = heapscope_kernel
    browser_json(kernel, deep=100_000)
    main = open_comm(kernel)

    text = st.one_of(
        st.text(max_size=30),
        st.sampled_from(["\ud800", "\udfff.py", "a\udc80b", "", "sync", "cell_detail", "configure", "clear"]),
        st.integers(1_000, 300_000).map(lambda n: "x" * n),
        st.just("__DEEP__"),
    )
    number = st.one_of(
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([math.nan, -1, 0, -0.0, 1e308, -(2**63)]),
    )
    scalar = st.one_of(st.none(), st.booleans(), number, text)
    value = st.recursive(
        scalar,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
        max_leaves=12,
    )
    kinds = st.sampled_from(
        ["sync", "clear", "configure", "cell_detail", "retained_by_cell", "cell", "status", "history", "bogus"]
    )
    fields = st.dictionaries(
        st.sampled_from(["seq", "limit", "top_n", "mode", "type", "protocol", "cell"]), value, max_size=4
    )
    shaped = st.builds(
        lambda kind, extra, version: {**extra, "protocol": version, "type": kind},
        kinds,
        fields,
        st.sampled_from([V, V, V, V + 1, 0, -1, float(V), str(V), None, math.nan]),
    )
    message = st.one_of(shaped, value)
    sent = {"messages": 0, "rounds": 0}

    @hypothesis.settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(
        st.lists(st.tuples(st.sampled_from([False, False, False, True]), message), min_size=25, max_size=40),
        st.one_of(st.sampled_from(["\ud800", "a\udc80b", "\udfff.py"]), text),
    )
    def round_trip(batch, cell_text):
        for open_new, data in batch:
            if open_new:
                kernel.open_comm("heapscope", data)
            else:
                kernel.send_comm(main, data)
            sent["messages"] += 1
        mark = kernel.mark()
        kernel.send_comm(main, SYNC)
        kernel.wait_comm(main, of_type("history"), timeout=60, after=mark)
        sent["rounds"] += 1
        if sent["rounds"] % 4 == 0:  # a cell whose id and source hold the drawn text reaches the client
            mark = kernel.mark()
            kernel.execute("f = bytearray(1000)  # " + ascii(cell_text), cell_id=f"fuzz-{sent['rounds']}-{cell_text}")
            kernel.wait_comm(main, of_type("cell"), timeout=60, after=mark)

    round_trip()
    print("fuzz:", sent)
    assert sent["messages"] >= 1000, sent
    # The kernel and the channel survived: configure back to sane values, a cell reaches a new comm too.
    kernel.send_comm(main, {"protocol": V, "type": "configure", "top_n": 20, "mode": "default"})
    fresh = open_comm(kernel)
    mark = kernel.mark()
    assert kernel.execute("g = bytearray(2_000_000)", cell_id="after-fuzz").status == "ok"
    for comm_id in (main, fresh):
        cell = kernel.wait_comm(comm_id, of_type("cell", cell_id="after-fuzz"), timeout=60, after=mark)["cell"]
        assert cell["end_bytes"] - cell["start_bytes"] >= 1_900_000, cell
    assert main not in {m["content"]["comm_id"] for m in kernel.iopub if m["msg_type"] == "comm_close"}
    assert kernel.km.is_alive()


def test_the_status_follows_the_last_of_many_quick_cells(heapscope_kernel):
    """After cells the status is sent at most twice a second (a Run All of small cells paid one per cell);
    the one that waits must still come after the last cell, with that cell's heap."""
    kernel = heapscope_kernel
    comm_id = open_comm(kernel)
    sent = [kernel.kc.execute(f"quick_{i} = bytearray({i} * 1000)") for i in range(25)]
    count = kernel.shell_reply(sent[-1])["content"]["execution_count"]
    cell = kernel.wait_comm(comm_id, of_type("cell", execution_count=count))
    after = next(i for i, m in enumerate(kernel.iopub) if m["msg_type"] == "comm_msg" and m["content"]["data"] is cell)
    status = kernel.wait_comm(comm_id, of_type("status"), after=after + 1, timeout=10)["status"]
    assert status["active"] is True
    # the heap now, read after the last cell ended (its end plus what the kernel did since, a little)
    assert abs(status["current_bytes"] - cell["cell"]["end_bytes"]) < 2_000_000, (status, cell["cell"])


def test_configure_switches_the_guard_and_sets_its_thresholds(heapscope_kernel):
    """What the panel's settings send (only where they override the kernel's environment)."""
    kernel = heapscope_kernel
    comm_id = open_comm(kernel)

    def configured(**fields):
        mark = kernel.mark()
        kernel.send_comm(comm_id, {"protocol": V, "type": "configure", **fields})
        return kernel.wait_comm(comm_id, of_type("status"), after=mark)["status"]["guard"]

    off = configured(guard=False)
    assert off["on"] is False and off["reason"] == "switched off", off
    tuned = configured(guard=True, guard_hard=0.9, guard_soft=0.5)
    assert tuned["hard"] == 0.9 and tuned["soft"] == 0.5, tuned
    assert tuned["reason"] != "switched off", tuned
    untouched = configured(mode="default")  # no guard fields: the guard stays as it was
    assert untouched == tuned, untouched


# --- checking what the agent sends ---------------------------------------------------------------------

BOGUS_STATUS = (
    f"import heapscope.agent as _a\n_a._agent.broadcast({{'protocol': {V!r}, 'type': 'status', 'status': 'bogus'}})"
)


@pytest.mark.parametrize("check", ["1", "0"])
def test_what_the_agent_sends_is_checked_against_its_schema_when_asked(start_kernel, check):
    """``HEAPSCOPE_CHECK_MESSAGES=1`` (every test kernel): a message its schema refuses leaves as an
    ``error`` saying why. Without it (users' kernels), messages leave unchecked: the extension validates
    everything it receives, and checking each cell's messages again cost ~0.3 ms a cell."""
    kernel = start_kernel("heapscope", env={"HEAPSCOPE_CHECK_MESSAGES": check})
    comm_id = open_comm(kernel)
    mark = kernel.mark()
    kernel.execute(BOGUS_STATUS)
    if check == "1":
        error = kernel.wait_comm(comm_id, of_type("error"), after=mark)
        assert "invalid" in error["message"] and "status" in error["message"], error
        assert validate_outgoing(error) is None
    else:
        sent = kernel.wait_comm(comm_id, of_type("status"), after=mark)
        assert sent["status"] == "bogus" and validate_outgoing(sent) is not None
    # Either way the channel goes on.
    kernel.execute("x = 1", cell_id="after")
    assert validate_outgoing(kernel.wait_comm(comm_id, of_type("cell", cell_id="after"), after=mark)) is None
