"""Environment variables shared by the launcher, the shim and the agent."""

#: Path of the shim library to preload, instead of the one inside the package.
SHIM_PATH = "HEAPSCOPE_SHIM_PATH"
#: Set to 1 by the launcher for the kernel process; the shim counts only when it is set, and unsets it.
ENABLE = "HEAPSCOPE_ENABLE"
#: Set by the launcher when it starts the kernel without the shim: why (for the agent to tell the UI).
SHIM_ERROR = "HEAPSCOPE_SHIM_ERROR"
#: Attribution mode of the kernel or script: ``default`` or ``exact`` (``heapscope report/run --mode`` set it).
MODE = "HEAPSCOPE_MODE"
#: Set to 1 (the test suites do) to validate every message the agent sends against its schema before it
#: leaves: a development check. The extension validates every message it receives in any case; validating
#: the two messages of each cell again in the kernel cost ~0.3 ms a cell (issue 11).
CHECK_MESSAGES = "HEAPSCOPE_CHECK_MESSAGES"
