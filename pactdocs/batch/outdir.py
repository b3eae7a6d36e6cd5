"""The output folder: chosen with care, locked while a run writes, never left through a link.

Every file goes in by way of directory handles opened one level at a time with ``O_NOFOLLOW``,
so a symbolic link planted inside the folder (``OUT/AT -> /elsewhere``) stops the write with an
error instead of carrying it elsewhere. Files are written to a temporary name in their own
directory and moved into place with ``os.replace``, so a file is complete or absent. Only
temporary files with pactdocs' own name pattern, inside the folder, are ever swept away.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import Location, PactdocsError, UsageError

TMP_SUFFIX = ".pactdocs-tmp"
# ``.<name>.<pid>.pactdocs-tmp``: the only names the sweep removes.
TMP_NAME = re.compile(r"^\..+\.\d+" + re.escape(TMP_SUFFIX) + r"$")
LOCK_NAME = ".pactdocs.lock"
STATE_NAME = ".pactdocs.sqlite"
MANIFEST_NAME = "manifest.json"
# The registry as the last run loaded it (pactdocs.sources.registry_cache).
REGISTRY_NAME = ".pactdocs-registry"

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class OutputError(PactdocsError):
    category = "io"


def cannot_write(where: Path, exc: OSError) -> OutputError:
    """Return the one-line error for an operating-system refusal to write into ``where``."""
    reason = exc.strerror or str(exc)
    hints = {errno.ENOSPC: "free some space, then run again: finished documents are kept",
             errno.EDQUOT: "free some space, then run again: finished documents are kept",
             errno.EROFS: "the file system is mounted read-only; choose another --out",
             errno.ENOTDIR: "a part of the path is a file, not a folder; choose another --out",
             errno.ENOENT: "a part of the path does not exist and cannot be made there",
             errno.EACCES: "you may not write there; choose another --out",
             errno.EPERM: "the system does not allow writing there (immutable or special file "
                          "system); choose another --out"}
    return OutputError(f"cannot write into the output folder {where}: {reason}",
                       hint=hints.get(exc.errno or 0, "choose another --out"))


def is_pactdocs_manifest(path: Path) -> bool:
    """Return whether ``path`` is a regular file holding a pactdocs manifest."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "letter" in data and "documents" in data


def check_output_folder(out: Path, inputs: list[Path], *, foreign_ok: bool = False) -> Path:
    """Return ``out`` resolved, or raise UsageError when pactdocs must not write there.

    Refused: ``/``, any of the ``inputs`` folders or a folder inside one, any folder above them
    (the project itself and its parents), and a folder that is not empty and holds no trace of
    an earlier pactdocs run (state DB, lock file or manifest). With ``foreign_ok`` (review
    documents and XLIFF files, a few files written by name and never swept) only the root and
    the input folders are refused.
    """
    target = out.resolve()
    shown = str(out)
    if target == Path(target.anchor):
        raise UsageError(f"refusing to write into {shown}: it is the root of the file system",
                         hint="give an empty folder of its own with --out")
    for folder in inputs:
        real = folder.resolve()
        if target == real or real in target.parents:
            raise UsageError(f"refusing to write into {shown}: it is inside the input folder "
                             f"{folder}", hint="give a folder outside letter_templates/ and "
                             "recipients/ with --out")
        if target in real.parents and not foreign_ok:
            raise UsageError(f"refusing to write into {shown}: it holds the input folder "
                             f"{folder}", hint="give a folder of its own, e.g. output/LETTER")
    if target.is_dir() and not foreign_ok:
        try:
            entries = os.listdir(target)
        except OSError as exc:
            raise UsageError(f"cannot read the output folder {shown}: {exc.strerror}") from None
        ours = (STATE_NAME in entries or LOCK_NAME in entries
                or is_pactdocs_manifest(target / MANIFEST_NAME))
        if entries and not ours:
            raise UsageError(f"refusing to write into {shown}: the folder is not empty and no "
                             "pactdocs run wrote it", hint="give an empty or new folder with "
                             "--out (pactdocs replaces files it finds there)")
    elif os.path.lexists(target) and not target.is_dir():
        raise UsageError(f"the output folder {shown} is not a folder")
    return target


class OutputFolder:
    """Write, read and sweep files below one folder without ever following a link."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(root, _DIR_FLAGS)
        except OSError as exc:
            raise cannot_write(root, exc) from None
        self._lock: int | None = None
        self.was_tidy = False
        self._readers: dict[str, int] = {}  # folder path ("AT/de") → its handle

    @classmethod
    def reader(cls, root: Path) -> OutputFolder | None:
        """Return the folder for reading only, or None when it does not exist."""
        if not root.is_dir() or root.is_symlink():
            return None
        return cls(root)

    def close(self) -> None:
        self.forget_readers()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # --- the lock ------------------------------------------------------------------------------

    def lock(self, wait: bool) -> None:
        """Hold the folder's lock until :meth:`close`; raise UsageError when another run has it."""
        fd = os.open(LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                     dir_fd=self.fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = (os.pread(fd, 64, 0).decode("ascii", "replace").split() or ["?"])[0]
            os.close(fd)
            raise UsageError(f"another pactdocs run (process {holder}) is writing into "
                             f"{self.root}", hint="wait until it ends, or add --wait to start "
                             "as soon as it does") from None
        # The last run that held the lock wrote " tidy" after its PID if it ended leaving no
        # temporary file (see mark_tidy): then this run need not walk the folder for them.
        self.was_tidy = os.pread(fd, 64, 0).endswith(b" tidy\n")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock = fd

    def mark_tidy(self) -> None:
        """Record in the lock file that this run leaves no temporary file behind."""
        if self._lock is not None:
            os.pwrite(self._lock, f"{os.getpid()} tidy\n".encode(), 0)

    # --- files ---------------------------------------------------------------------------------

    def _directory(self, parts: list[str], create: bool, shown: str) -> int:
        current = os.dup(self.fd)
        try:
            for name in parts:
                try:
                    following = os.open(name, _DIR_FLAGS, dir_fd=current)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(name, 0o755, dir_fd=current)
                    except FileExistsError:
                        pass
                    following = os.open(name, _DIR_FLAGS, dir_fd=current)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise OutputError(
                            f"'{name}' in {shown} is a symbolic link or not a folder",
                            Location(str(self.root / shown)),
                            "pactdocs never writes through a link; remove it") from None
                    raise
                os.close(current)
                current = following
        except BaseException:
            os.close(current)
            raise
        return current

    @staticmethod
    def _split(relative: str) -> tuple[list[str], str]:
        parts = relative.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise OutputError(f"unsafe output path '{relative}'")
        return parts[:-1], parts[-1]

    def write(self, relative: str, data: bytes, *, durable: bool = True) -> None:
        """Write ``data`` to ``relative`` (``AT/de/x.pdf``), complete or not at all.

        ``durable``: on disk before this returns (``fsync``). The documents of a large run are
        written without (2-4 ms a file on this machine's disk, most of a DOCX-only run's time)
        and made durable together by :meth:`sync` before the manifest names them; a process killed
        in between loses nothing (the data is in the kernel's cache), and after a power cut a
        file that did not reach the disk no longer matches its recorded size and times, so the
        next run hashes it and renders it again.
        """
        folders, name = self._split(relative)
        directory = self._directory(folders, True, relative)
        tmp = f".{name}.{os.getpid()}{TMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o644, dir_fd=directory)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    if durable:
                        handle.flush()
                        os.fsync(handle.fileno())
                os.replace(tmp, name, src_dir_fd=directory, dst_dir_fd=directory)
            except BaseException:
                try:
                    os.unlink(tmp, dir_fd=directory)
                except OSError:
                    pass
                raise
        finally:
            os.close(directory)

    def sync(self) -> None:
        """Put everything written below the folder on disk: one ``syncfs`` of its file system
        (Linux), else ``sync``."""
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.syncfs(self.fd) == 0:
                return
        except (OSError, AttributeError):
            pass
        os.sync()

    def open(self, relative: str) -> io.BufferedReader | None:
        """Return ``relative`` opened for reading, or None when absent, a link or not a file."""
        try:
            folders, name = self._split(relative)
            directory = self._directory(folders, False, relative)
        except (OSError, OutputError):
            return None
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
        except OSError:
            return None
        finally:
            os.close(directory)
        handle = os.fdopen(fd, "rb")
        if not _is_regular(os.fstat(fd).st_mode):
            handle.close()
            return None
        return handle

    def digest(self, relative: str) -> tuple[int, str] | None:
        """Return (size, sha256) of the regular file ``relative``, or None.

        Directory handles are kept between calls (a run checks thousands of files in a few
        folders), so a check costs one open, one stat and one read.
        """
        found = self._locate(relative)
        if found is None:
            return None
        directory, name = found
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not _is_regular(info.st_mode):
                return None
            data = os.read(fd, info.st_size + 1)
            while len(data) <= info.st_size:
                more = os.read(fd, info.st_size + 1 - len(data))
                if not more:
                    break
                data += more
        finally:
            os.close(fd)
        return len(data), hashlib.sha256(data).hexdigest()

    def _locate(self, relative: str) -> tuple[int, str] | None:
        """Return (handle of the file's folder, file name) of ``relative``, or None. Each
        folder is looked up (its whole path checked) once; its handle is kept."""
        head, _, name = relative.rpartition("/")
        directory = self._readers.get(head)
        if directory is None:
            try:
                folders, name = self._split(relative)
                directory = self._directory(folders, False, relative)
            except (OSError, OutputError):
                return None
            self._readers[head] = directory
        elif name in ("", ".", ".."):
            return None
        return directory, name

    def signature(self, relative: str) -> str | None:
        """Return inode, size, mtime and ctime of the regular file ``relative``, or None.

        Any write through the file system changes the ctime (``utime`` cannot set it back), so
        an unchanged signature means an unchanged file; a changed one means: hash it.
        """
        found = self._locate(relative)
        if found is None:
            return None
        directory, name = found
        try:
            info = os.stat(name, dir_fd=directory, follow_symlinks=False)
        except OSError:
            return None
        if not _is_regular(info.st_mode):
            return None
        return _signature(info)

    def signatures(self) -> dict[str, str]:
        """Return the :meth:`signature` of every regular file two folders down, where every
        document is (``AT/de/x.pdf`` → signature), by one walk of folder handles that never
        enters a link: a path missing from it has no signature."""
        found: dict[str, str] = {}
        for first, first_fd in _subfolders(self.fd):
            for second, second_fd in _subfolders(first_fd):
                for name, info in _regular_files(second_fd):
                    found[f"{first}/{second}/{name}"] = _signature(info)
        return found

    def forget_readers(self) -> None:
        """Close the directory handles :meth:`digest` keeps (after writes may have moved things)."""
        for fd in self._readers.values():
            os.close(fd)
        self._readers.clear()

    def remove(self, relative: str) -> bool:
        """Remove the regular file ``relative``; never a link, a folder or what a link reaches.

        Return whether a file was removed.
        """
        try:
            folders, name = self._split(relative)
            directory = self._directory(folders, False, relative)
        except (OSError, OutputError):
            return False
        try:
            info = os.stat(name, dir_fd=directory, follow_symlinks=False)
            if not _is_regular(info.st_mode):
                return False
            os.unlink(name, dir_fd=directory)
            return True
        except OSError:
            return False
        finally:
            os.close(directory)
            self.forget_readers()

    RESERVE = ".pactdocs.reserve"

    def reserve(self, size: int) -> None:
        """Set ``size`` bytes aside for the manifest, so a disk that fills up during the run
        still takes it (:meth:`release` gives them back just before it is written)."""
        fd = os.open(self.RESERVE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o644, dir_fd=self.fd)
        try:
            os.posix_fallocate(fd, 0, max(size, 4096))
        except OSError:
            os.close(fd)
            os.unlink(self.RESERVE, dir_fd=self.fd)
            raise
        os.close(fd)

    def release(self) -> None:
        try:
            os.unlink(self.RESERVE, dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def read(self, relative: str) -> bytes | None:
        handle = self.open(relative)
        if handle is None:
            return None
        with handle:
            return handle.read()

    def sweep(self) -> int:
        """Remove the temporary files killed runs left; return how many.

        Walks this folder only, never into a link, and removes only regular files named as
        pactdocs names its temporary files.
        """
        removed = 0
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in files:
                if not TMP_NAME.match(name):
                    continue
                path = os.path.join(folder, name)
                try:
                    if _is_regular(os.lstat(path).st_mode):
                        os.unlink(path)
                        removed += 1
                except OSError:
                    pass
        return removed


def _signature(info: os.stat_result) -> str:
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"


def _subfolders(fd: int) -> Iterator[tuple[str, int]]:
    """(name, handle) of each folder in the folder ``fd``, links left out; each handle is
    closed when the next one is asked for."""
    with os.scandir(fd) as entries:
        names = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    for name in names:
        try:
            handle = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            continue  # gone, or replaced by a link since: not walked
        try:
            yield name, handle
        finally:
            os.close(handle)


def _regular_files(fd: int) -> Iterator[tuple[str, os.stat_result]]:
    """(name, stat) of each regular file in the folder ``fd``, links left out."""
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if _is_regular(info.st_mode):
                    yield entry.name, info


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def remove_plain(root: Path, name: str) -> None:
    """Remove the file or link ``name`` directly in ``root`` (never what a link points to)."""
    try:
        os.unlink(root / name)
    except FileNotFoundError:
        pass


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is either complete or absent.

    The temporary file is created beside it with ``O_EXCL | O_NOFOLLOW`` and moved over it, so a
    link at either name is replaced, never written through.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp) and not tmp.is_symlink():
            tmp.unlink()
        raise


@contextlib.contextmanager
def holding_lock(out: Path, wait: bool = False) -> Iterator[None]:
    """Hold ``out``'s lock while another command (sign, send) writes into a merge's folder.

    Nothing runs beside a merge writing the same files, and the lock file's tidy mark is
    cleared while the command writes (a command killed mid-write may leave a temporary file for
    the next merge to sweep); it is set again when the command ends normally in a folder that
    was tidy. A folder that does not exist is left for the command to report.
    """
    if not out.is_dir() or out.is_symlink():
        yield
        return
    folder = OutputFolder(out)
    try:
        folder.lock(wait)
        tidy = folder.was_tidy
        yield
        if tidy:
            folder.mark_tidy()
    finally:
        folder.close()
