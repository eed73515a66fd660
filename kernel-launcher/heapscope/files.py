"""Every file heapscope writes goes through this module.

Two kinds of file:

- **documents** (reports, JSON and HTML alike): written with :func:`write_text` / :func:`write_bytes` /
  :func:`atomic_writer`. The content goes to a temporary file with an unpredictable name, created
  exclusively and without following links (``O_CREAT | O_EXCL | O_NOFOLLOW``) in the target's folder; it is
  written, ``fsync``-ed, and renamed onto the target with ``os.replace``. A reader never sees half a file; a
  link planted at a temporary name is never followed (the name cannot be guessed, and an existing name is
  refused); a link *at* the target is replaced by the file, never written through. Permissions follow the
  umask (``0o666 & ~umask``), as for any file the user's programs make.
- **state files** (heapscope's own bookkeeping: the mode chosen in the browser, a post-mortem snapshot):
  ``private=True`` gives ``0o600``. :func:`runtime_dir` is a per-user folder (``0o700``, owned by the user,
  checked) for them; :func:`create_private` creates a file there exclusively and without following links,
  :func:`write_private` replaces one atomically, :func:`read_private` reads one without following links.

No other module opens a file for writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import IO, Any, Iterator, List, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]

#: Mode bits of documents before the umask, and of state files.
DOCUMENT_MODE = 0o666
PRIVATE_MODE = 0o600
#: Environment variable that overrides :func:`runtime_dir` (must be an absolute path).
RUNTIME_DIR_ENV = "HEAPSCOPE_RUNTIME_DIR"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
_TEMP_ATTEMPTS = 100


class UnsafeFolder(OSError):
    """A runtime folder that another user could write to, or that is not a real folder."""


def _temp_name(target_name: str) -> str:
    """An unpredictable name beside the target (``.NAME.<random>.tmp``): hidden, and recognisable."""
    return f".{target_name[:100]}.{os.urandom(8).hex()}.tmp"  # (`secrets` costs imports)


def _create_exclusive(path: str, mode: int) -> int:
    """``open(O_CREAT | O_EXCL | O_NOFOLLOW)``: fails on anything already there, a link included."""
    return os.open(path, _CREATE_FLAGS, mode)


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(
    path: PathLike, *, private: bool = False, binary: bool = False, encoding: str = "utf-8", durable: bool = True
) -> Iterator[IO]:
    """A file object whose content replaces ``path`` when the ``with`` block ends without an exception
    (nothing is changed when it raises). The folder must exist. ``private``: ``0o600`` (state files);
    otherwise the umask decides, as for any document the user makes.

    ``durable=False`` skips the ``fsync`` of the file and its folder: the replace is still atomic, and the
    content survives the death of this process (it is in the page cache), only not a crash of the machine.
    For state files rewritten often on a cell's path (the post-mortem snapshot), where an ``fsync`` costs
    milliseconds per cell.

    Raises :class:`IsADirectoryError` when ``path`` is a folder, and whatever ``os.open`` raises when the
    folder cannot be written — before anything was written.
    """
    target = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(target))
    if not name:
        raise IsADirectoryError(f"not a file name: {target!r}")
    if os.path.isdir(target) and not os.path.islink(target):
        raise IsADirectoryError(f"{target} is a folder")
    mode = PRIVATE_MODE if private else DOCUMENT_MODE
    for _ in range(_TEMP_ATTEMPTS):
        tmp = os.path.join(folder, _temp_name(name))
        try:
            fd = _create_exclusive(tmp, mode)
            break
        except FileExistsError:  # taken (or planted): another unpredictable name
            continue
    else:
        raise FileExistsError(f"could not create a temporary file in {folder}")
    try:
        if private:
            os.fchmod(fd, PRIVATE_MODE)  # whatever the umask
        out: IO = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding)
        fd = -1  # owned by the file object now
        with out:
            yield out
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_folder(folder)


def write_bytes(path: PathLike, data: bytes, *, private: bool = False, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, private=private, binary=True, durable=durable) as out:
        out.write(data)


def write_text(path: PathLike, text: str, *, private: bool = False, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, private=private, encoding=encoding) as out:
        out.write(text)


def check_writable(path: PathLike) -> Optional[str]:
    """Why a document could not be written at ``path`` (``None`` when it can): a folder, a missing or
    read-only folder. For commands that check their outputs before long work; the write itself still
    reports any later error."""
    target = os.fspath(path)
    if not os.path.basename(target) or (os.path.isdir(target) and not os.path.islink(target)):
        return f"{target} is a folder"
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        return f"{folder} is not a folder" if os.path.exists(folder) else f"the folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    return None


# --- state files in the per-user runtime folder ----------------------------------------------------


def _safe_folder(folder: str) -> str:
    """Create ``folder`` (``0o700``) if needed and check it is a real folder, owned by this user, that
    nobody else can write to."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFolder(f"{folder} is not a folder (a link or a file is in its place)")
    if st.st_uid != os.getuid():
        raise UnsafeFolder(f"{folder} belongs to another user")
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


def runtime_dir() -> Path:
    """heapscope's per-user folder for state files, created ``0o700`` and checked: ``$HEAPSCOPE_RUNTIME_DIR``
    (absolute), else ``$XDG_RUNTIME_DIR/heapscope``, else Jupyter's runtime folder + ``/heapscope``, else
    ``<temp>/heapscope-<uid>``. Raises :class:`UnsafeFolder` when the folder is not safe to use."""
    override = os.environ.get(RUNTIME_DIR_ENV)
    if override:
        if not os.path.isabs(override):
            raise UnsafeFolder(f"{RUNTIME_DIR_ENV} must be an absolute path, not {override!r}")
        return Path(_safe_folder(override))
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg) and os.path.isdir(xdg):
        return Path(_safe_folder(os.path.join(xdg, "heapscope")))
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        parent = jupyter_runtime_dir()
        os.makedirs(parent, 0o700, exist_ok=True)
        return Path(_safe_folder(os.path.join(parent, "heapscope")))
    except (ImportError, OSError):
        pass
    import tempfile

    return Path(_safe_folder(os.path.join(tempfile.gettempdir(), f"heapscope-{os.getuid()}")))


def _state_path(name: str, folder: Optional[PathLike]) -> str:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"a state file name must be a plain file name, not {name!r}")
    return os.path.join(os.fspath(folder) if folder is not None else os.fspath(runtime_dir()), name)


def create_private(name: str, data: bytes = b"", *, folder: Optional[PathLike] = None, durable: bool = True) -> Path:
    """Create the state file ``name`` in :func:`runtime_dir` (or ``folder``) exclusively, without following
    links, ``0o600``, holding ``data``. Raises :class:`FileExistsError` when anything (a link included) is
    already there: remove a stale one with :func:`remove_private` first."""
    path = _state_path(name, folder)
    fd = _create_exclusive(path, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)
    return Path(path)


def open_private(name: str, *, folder: Optional[PathLike] = None) -> int:
    """A descriptor of the new, empty state file ``name`` (created as :func:`create_private` does), for a
    file written many times (:func:`append_private`); the caller closes it."""
    fd = _create_exclusive(_state_path(name, folder), PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def append_private(fd: int, data: bytes, offset: int) -> int:
    """Write ``data`` at ``offset`` of the state file open as ``fd`` (:func:`open_private`); returns the offset
    after it. For a file of JSON lines that grows by a line at a time (:func:`json_lines` reads it back): a
    process killed in the middle of a write leaves a cut last line, which readers skip."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)
    return offset + done


def json_lines(raw: bytes) -> List[Any]:
    """The JSON values of ``raw``, one a line (:func:`append_private`), up to the first line that is not one
    (cut short by a kill, or never finished)."""
    out: List[Any] = []
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line.decode("utf-8", "surrogatepass")))
        except ValueError:
            break
    return out


def write_private(name: str, data: bytes, *, folder: Optional[PathLike] = None, durable: bool = True) -> Path:
    """Replace the state file ``name`` in :func:`runtime_dir` (or ``folder``) atomically, ``0o600``
    (``durable``: see :func:`atomic_writer`)."""
    path = _state_path(name, folder)
    write_bytes(path, data, private=True, durable=durable)
    return Path(path)


def read_private(name: str, *, folder: Optional[PathLike] = None, limit: int = 1 << 20) -> Optional[bytes]:
    """The state file's content (at most ``limit`` bytes), or ``None`` when it is missing, a link, not a
    regular file, or not owned by this user."""
    path = _state_path(name, folder)
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
            return None
        return os.read(fd, limit)
    finally:
        os.close(fd)


def remove_private(name: str, *, folder: Optional[PathLike] = None) -> bool:
    """Remove the state file ``name`` (a link there is removed, never followed); ``True`` when it was there."""
    try:
        os.unlink(_state_path(name, folder))
        return True
    except FileNotFoundError:
        return False
