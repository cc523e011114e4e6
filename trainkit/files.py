"""The one writer of a run's files: every file trainkit writes is complete or absent.

A file is written under a temporary name in its own folder (``.NAME.tmp-PID-RANDOM``),
flushed and fsync'ed, renamed over ``NAME`` (atomic on POSIX), and the folder is fsync'ed
so the rename itself survives a power cut. Whatever kills the process (kill -9, a full
disk, a read-only folder), readers see the old file, the new file, or none, never a part.
Temporaries of dead processes are removed by ``clean_stale``.

Errors become ``WriteError`` (an OSError): one line naming the path and what to do, which
the command line prints without a traceback.

``nd.save`` (serialization.save), ``Symbol.save``, ``Module.save_checkpoint`` /
``save_params`` / ``save_optimizer_states`` and every file of a Trainer run come here.
Set ``TRAINKIT_FSYNC=0`` to skip the fsyncs (tests on slow disks); the rename stays atomic
against a killed process, only power cuts are no longer covered.
"""
import errno
import os
import re
import secrets
import shutil
from contextlib import contextmanager

__all__ = ["WriteError", "atomic_open", "write_bytes", "write_text", "copy_file", "write_new", "remove", "clean_stale"]

_TMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]+$")
# what earlier trainkit versions left behind (`trainer-0003.json.tmp`, written without a PID)
_OLD_TMP = re.compile(r"^((model|trainer)-\d{4}\.(params|states|json|state)|best\.params|metrics\.jsonl|"
                      r"model-symbol\.json)\.tmp$")


def _fsync_enabled():
    return os.environ.get("TRAINKIT_FSYNC", "1") != "0"


class WriteError(OSError):
    """A file could not be written: the path, the reason and the fix, in one line."""

    user_error = True  # the command line prints it as one message, without a traceback

    def __init__(self, path, cause):
        code = getattr(cause, "errno", None)
        super().__init__(code, getattr(cause, "strerror", None) or str(cause), str(path))
        self.path = str(path)
        if code in (errno.ENOSPC, errno.EDQUOT):
            fix = "the disk is full: free space there or write the run elsewhere (hydra.run.dir=...)"
        elif code in (errno.EROFS, errno.EACCES, errno.EPERM):
            fix = "the folder is read-only or not yours: make it writable or write the run elsewhere (hydra.run.dir=...)"
        elif code == errno.ENOENT:
            fix = "its folder does not exist (or was removed while running)"
        else:
            fix = "check the disk and the folder's permissions"
        self.message = (f"cannot write {self.path!r}: {self.strerror}; {fix}. Files written before it are "
                        "complete (trainkit writes each file whole or not at all).")

    def __str__(self):
        return self.message


def _fsync_dir(folder):
    if not _fsync_enabled():
        return
    try:
        fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)


def _special(path):
    """/dev/stdout, a FIFO, ...: not a regular file, so it cannot be replaced by a rename."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    import stat
    return not stat.S_ISREG(st.st_mode)


@contextmanager
def atomic_open(path, mode="wb", encoding=None, durable=True):
    """``with atomic_open(path) as f: f.write(...)``: ``path`` appears whole when the block ends,
    and is left untouched (old contents or absent) when it raises. ``durable=False`` skips the
    fsyncs: still whole or absent when the process dies, but a power cut may leave the old file."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'wb' or 'w', got {mode!r}.")
    path = os.fspath(path)
    if _special(path):
        with open(path, mode, encoding=encoding if mode == "w" else None) as f:
            yield f
        return
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        f = open(tmp, mode, encoding=(encoding or "utf-8") if mode == "w" else None)
    except OSError as e:
        raise WriteError(path, e) from None
    try:
        with f:
            yield f
            _fault_point(f)
            f.flush()
            if durable and _fsync_enabled():
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise WriteError(path, e) from None
        raise
    if durable:
        _fsync_dir(folder)


_writes = 0


def _fault_point(f):
    """Fault injection for tests/test_faults.py and benchmarks/faults.py: with TRAINKIT_FAULT_KILL_WRITE=N
    the process kills itself (SIGKILL) during its N-th file write, after part of the data is on disk."""
    global _writes
    target = os.environ.get("TRAINKIT_FAULT_KILL_WRITE")
    if not target:
        return
    _writes += 1
    if _writes == int(target):
        import signal
        f.flush()
        os.truncate(f.fileno(), max(f.tell() // 2, 1))  # half written, as a kill in mid-write leaves it
        os.kill(os.getpid(), signal.SIGKILL)


def write_bytes(path, data, durable=True):
    """Write ``data`` (bytes-like) as the whole of ``path``, atomically."""
    with atomic_open(path, "wb", durable=durable) as f:
        f.write(data)


def write_text(path, text, durable=True):
    """Write ``text`` (UTF-8) as the whole of ``path``, atomically."""
    write_bytes(path, text.encode("utf-8"), durable)


def copy_file(src, dst):
    """Copy ``src`` to ``dst``, atomically."""
    with open(src, "rb") as s, atomic_open(dst, "wb") as d:
        shutil.copyfileobj(s, d, 1 << 20)


def write_new(path, data):
    """Write ``data`` (bytes) as a NEW file ``path``, whole or absent; FileExistsError if ``path`` exists,
    even when another process creates it meanwhile: the temporary is hard-linked to its name, which
    fails rather than replaces (outputs a user asked for, such as `trainkit predict output=`)."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    with atomic_open(tmp, "wb") as f:
        f.write(data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        os.unlink(tmp)
        raise
    except OSError as e:  # a file system without hard links: the best that is left, a check then a rename
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            os.unlink(tmp)
            raise WriteError(path, e) from None
        if os.path.lexists(path):
            os.unlink(tmp)
            raise FileExistsError(errno.EEXIST, "File exists", path) from None
        os.replace(tmp, path)
    else:
        os.unlink(tmp)
    _fsync_dir(folder)


def remove(path):
    """Delete ``path`` if it is there (retention), and make the deletion durable."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise WriteError(path, e) from None
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale(folder):
    """Remove the temporaries that killed writers left in ``folder``; returns their names.

    A temporary whose writer (the PID in its name) still runs is left alone; so are files
    that merely look similar."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _TMP.match(name)
        stale = (m is not None and not _alive(int(m.group("pid")))) or _OLD_TMP.match(name) is not None
        if stale:
            try:
                os.unlink(os.path.join(folder, name))
                removed.append(name)
            except OSError:
                pass
    return removed
