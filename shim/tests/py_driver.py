"""Checks the preloaded shim from inside a Python process, the way the kernel agent reads it.

Run as:  LD_PRELOAD=shim/build/libheapscope.so HEAPSCOPE_ENABLE=1 PYTHON shim/tests/py_driver.py
Prints "ok - NAME" / "not ok - NAME: why" lines and "# end" (counted by tests/run.sh).
Works on any Python 3 (Debian's static /usr/bin/python3, pyenv's shared builds); numpy is optional.
"""

import ctypes
import mmap
import os
import subprocess
import sys

FIELDS = ("current_bytes", "peak_bytes", "allocated_bytes", "freed_bytes", "alloc_count", "free_count")
failures = 0


class Stats(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in FIELDS]


def check(name, cond, why=""):
    global failures
    if cond:
        print(f"ok - {name}")
    else:
        failures += 1
        print(f"not ok - {name}: {why}")


def main():
    tag = f"python {sys.version_info[0]}.{sys.version_info[1]} ({sys.executable})"
    lib = ctypes.CDLL(None)
    if not hasattr(lib, "heapscope_get_stats"):
        check(f"{tag}: shim preloaded", False, "heapscope_get_stats not found")
        return
    lib.heapscope_get_stats.argtypes = [ctypes.POINTER(Stats)]
    lib.heapscope_get_stats.restype = None
    lib.heapscope_reset_peak.restype = ctypes.c_uint64
    lib.heapscope_version.restype = ctypes.c_char_p

    def stats():
        s = Stats()
        lib.heapscope_get_stats(ctypes.byref(s))
        return s

    check(f"{tag}: abi 2, active, version", lib.heapscope_abi_version() == 2 and lib.heapscope_active() == 1
          and lib.heapscope_version(), f"abi {lib.heapscope_abi_version()} active {lib.heapscope_active()}")
    check(f"{tag}: environment cleaned", "HEAPSCOPE_ENABLE" not in os.environ
          and "libheapscope" not in os.environ.get("LD_PRELOAD", ""), repr(os.environ.get("LD_PRELOAD")))
    out = subprocess.run(["sh", "-c", "echo $LD_PRELOAD; grep -c libheapscope /proc/self/maps"],
                         capture_output=True, text=True).stdout
    child = subprocess.run([sys.executable, "-c",
                            "import ctypes; print(hasattr(ctypes.CDLL(None), 'heapscope_active'))"],
                           capture_output=True, text=True).stdout.strip()
    check(f"{tag}: children (sh, python) do not load the shim", "libheapscope" not in out
          and out.strip().endswith("0") and child == "False", f"sh: {out!r}, python child: {child!r}")

    def measure(label, make, expected):
        start = lib.heapscope_reset_peak()
        obj = make()
        mid = stats()
        del obj
        end = stats()
        grown = mid.current_bytes - start
        peak = end.peak_bytes - start
        back = end.current_bytes - start
        ok = abs(grown - expected) <= expected / 100 and abs(peak - expected) <= expected / 100 \
            and abs(back) <= expected / 100
        check(f"{tag}: {label} moves current by {expected:,} +/- 1 % and back", ok,
              f"grew {grown:,}, peak +{peak:,}, after del {back:+,}")

    measure("bytearray(200_000_000)", lambda: bytearray(200_000_000), 200_000_000)
    page = mmap.PAGESIZE
    size = 50_000_000
    measure("mmap.mmap(-1, 50_000_000) (mmap64)", lambda: mmap.mmap(-1, size), (size + page - 1) // page * page)
    try:
        import numpy
    except ImportError:
        print(f"# {tag}: numpy not installed, numpy check skipped")
    else:
        measure(f"numpy {numpy.__version__} ones(25_000_000)", lambda: numpy.ones(25_000_000), 200_000_000)


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # a crash of the driver is a failure, not a silent pass
        failures += 1
        print(f"not ok - driver raised {exc!r}")
    print("# end")
    sys.exit(1 if failures else 0)
