"""Large buffers made outside numpy: bytearray and bytes (PyMem -> malloc), an anonymous mmap, and a raw libc
malloc through ctypes (a function pointer from dlsym: tools that patch PLT entries do not see it)."""

import ctypes
import mmap

import _acc

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
MiB = 1 << 20

_acc.begin()
buf = bytearray(120 * MiB)  # truth[large]: bytearray
blob = bytes(60 * MiB)  # truth[large]: bytes
region = mmap.mmap(-1, 80 * MiB)  # truth[large]: mmap
raw = libc.malloc(100 * MiB)  # truth[large]: malloc_ctypes
libc.memset(raw, 1, 100 * MiB)
_acc.truth("bytearray", len(buf))
_acc.truth("bytes", len(blob))
_acc.truth("mmap", len(region))
_acc.truth("malloc_ctypes", 100 * MiB)
_acc.peak()
libc.free(raw)
region.close()
_acc.end()
