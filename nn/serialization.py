"""nn.save / nn.load: nested dicts and lists of tensors, arrays, numbers and strings in a .npz file.

Format: a NumPy ``.npz`` (zip) archive holding
    ``__chainrule__``   the format tag (a string array),
    ``__structure__``   the nested structure as JSON, each tensor/array replaced by a reference,
    ``a0``, ``a1`` ...  the arrays (numeric and bool dtypes only).

Loading reads the archive with :mod:`zipfile` and parses each ``.npy`` header itself (never
``np.load``, never ``ast``, never pickle), so a hostile file can neither run code nor make the
loader allocate more than the arrays its structure declares:

* only the entries the structure refers to may be present; any other entry is refused unread;
* every entry's declared size must equal exactly what its npy header, dtype and shape need, and
  is then read through a bounded stream, so a file that lies about a size fails its check instead
  of inflating; a deflated entry may not claim more than deflate's 1032:1 limit, and the entries'
  compressed sizes must fit in the file (which rules out overlapping-entry zip bombs);
* the structure is nested at most ``_MAX_DEPTH`` containers deep, and ``save`` refuses deeper
  objects, so whatever ``save`` writes ``load`` reads back.

Every malformed file raises :class:`CheckpointError`. Saving writes a temporary file beside the
target and renames it over the target only once it is complete and flushed to disk (atomic on
POSIX and Windows), so an interrupted save never destroys the previous checkpoint; otherwise the
result is what ``open(path, 'wb')`` would give (see :func:`save`).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import socket
import stat
import zipfile
from typing import IO, Any, NamedTuple

import numpy as np

from autograd import Tensor
from autograd.extend import leaf

__all__ = ["save", "load", "CheckpointError"]

_TAG = "chainrule-checkpoint-v1"
_TAG_ENTRY, _STRUCTURE_ENTRY = "__chainrule__", "__structure__"

# A state_dict is three or four levels deep; 100 leaves room for any hand-built nesting while keeping
# the recursive encoder, json and decoder far below Python's recursion limit. save and load share it.
_MAX_DEPTH = 100
# The structure is stored as a 0-d numpy unicode array (4 bytes a character): 64 MiB is 16 million
# characters of JSON, about 100,000 tensors. save refuses more, so load can refuse it unread.
_MAX_STRUCTURE_BYTES = 64 * 2**20
_MAX_TAG_BYTES = 4 * 256
_MAX_NPY_HEADER = 10_000  # numpy's own default limit (np.load's max_header_size)
_DEFLATE_MAX_RATIO = 1032  # no deflate stream expands more than this (RFC 1951: 258 bytes from 2 bits)
_READ_CHUNK = 2**20
_ARRAY_KINDS = ("tensor", "array", "npscalar")
_CONTAINER_KINDS = ("list", "tuple", "dict")
_KEY_TYPES = (str, int, float, bool, type(None), np.generic)

_REMEDY = "Load an intact copy of the checkpoint, or re-create it with nn.save."


class CheckpointError(ValueError):
    """A file that is not a loadable chainrule checkpoint (corrupt, truncated, foreign or unsafe)."""


# ---------------------------------------------------------------------------------------------- save


def _encode(obj, arrays, path, depth):
    """The JSON-able form of ``obj``; tensors and arrays go to ``arrays``. ``depth`` counts the
    containers around ``obj``: more than ``_MAX_DEPTH`` is refused, as load refuses it."""
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = _check_array(obj.data, path)
        return {"$": "tensor", "key": key, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = _check_array(obj, path)
        return {"$": "array", "key": key}
    if isinstance(obj, np.generic):
        key = f"a{len(arrays)}"
        arrays[key] = _check_array(np.asarray(obj), path)
        return {"$": "npscalar", "key": key}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return {"$": "int", "v": str(obj)}
    if isinstance(obj, float):
        return {"$": "float", "v": repr(obj)}  # repr round-trips exactly, including nan and inf
    if isinstance(obj, (list, tuple, dict)) and depth >= _MAX_DEPTH:
        raise ValueError(
            f"nn.save: {path} is nested more than {_MAX_DEPTH} lists/tuples/dicts deep (does a "
            f"container hold itself?); nn.load refuses deeper structures, so flatten it before saving"
        )
    if isinstance(obj, (list, tuple)):
        return {
            "$": "list" if isinstance(obj, list) else "tuple",
            "v": [_encode(x, arrays, f"{path}[{i}]", depth + 1) for i, x in enumerate(obj)],
        }
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise TypeError(
                    f"nn.save: dict key {k!r} at {path} is a {type(k).__name__}; keys must be "
                    f"strings, numbers, bools or None"
                )
            items.append([_encode(k, arrays, path, depth + 1), _encode(v, arrays, f"{path}[{k!r}]", depth + 1)])
        return {"$": "dict", "v": items}
    raise TypeError(
        f"nn.save can't store a {type(obj).__name__} (at {path}): only tensors, ndarrays, numbers, "
        f"strings, None, and lists/tuples/dicts of them"
    )


def _check_array(arr, path):
    if arr.dtype.kind not in "biufc":
        raise TypeError(
            f"nn.save: the array at {path} has dtype {arr.dtype}; only numeric and bool arrays can "
            f"be saved (object arrays would need pickling)"
        )
    return arr if arr.flags.c_contiguous else arr.copy()  # (ascontiguousarray would make 0-d 1-d)


def _write_npz(file, structure_json, arrays):
    entries: dict[str, Any] = {_TAG_ENTRY: np.array(_TAG), _STRUCTURE_ENTRY: np.array(structure_json), **arrays}
    np.savez(file, **entries)


def save(obj: Any, path: str | os.PathLike[str] | IO[bytes]) -> None:
    """Save ``obj`` (e.g. ``model.state_dict()`` or an optimizer's ``state_dict()``) to ``path``.

    ``path`` may be an open binary file object (e.g. ``io.BytesIO``), written in place. A file path
    ends up as ``open(path, 'wb')`` would leave it: no extension is added, a new file gets mode
    ``0o666 & ~umask``, an overwritten file keeps its mode, a read-only file raises PermissionError,
    and a symlink keeps pointing at its target, which receives the checkpoint. Unlike ``open`` the
    write is atomic: the data goes to a temporary file beside the (symlink-resolved) target, is
    fsynced, and is renamed over the target, so a crash or kill mid-save leaves the previous
    checkpoint intact. A temporary is named ``.<target>.<hash>.chainrule-tmp.<host>-<pid>-<random>``;
    each save of a target first deletes that target's temporaries whose writing process (same host)
    is no longer alive, so killed saves do not pile up, while a concurrent live save keeps its own.

    Raises TypeError for an object that can't be stored and ValueError for one nested deeper than
    nn.load accepts, both before anything touches the disk.
    """
    arrays: dict = {}
    structure = _encode(obj, arrays, "obj", 0)
    structure_json = json.dumps(structure)
    if 4 * len(structure_json) > _MAX_STRUCTURE_BYTES:
        raise ValueError(
            f"nn.save: the object holds too many entries: its structure is {len(structure_json):,} "
            f"characters of JSON and nn.load accepts at most {_MAX_STRUCTURE_BYTES // 4:,}; save it "
            f"in several files"
        )
    if hasattr(path, "write"):
        _write_npz(path, structure_json, arrays)
        return
    # os.open and rename act on the link itself; open() writes through it. Resolve, then replace the target.
    target = os.path.realpath(os.fsdecode(os.fspath(path)))
    directory, name = os.path.split(target)
    try:
        existing_mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        existing_mode = None
    if existing_mode is not None and not os.access(target, os.W_OK):
        raise PermissionError(
            errno.EACCES,
            f"nn.save: {target!r} is read-only; make it writable (chmod u+w) or save to another path",
            target,
        )
    prefix = _temp_prefix(name)
    _remove_stale_temporaries(directory, prefix)
    fd, tmp = _create_temporary(directory, prefix, private=existing_mode is not None)
    try:
        with os.fdopen(fd, "wb") as f:
            if existing_mode is not None:
                # set-id bits are dropped, as the kernel drops them when a file is written
                os.chmod(tmp, existing_mode & ~(stat.S_ISUID | stat.S_ISGID))
            _write_npz(f, structure_json, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _temp_prefix(name):
    """The start of every temporary name for target ``name``. The name is cut so that the temporary
    fits in 255 bytes; the hash of the whole name keeps the temporaries of two long names apart."""
    digest = hashlib.blake2s(os.fsencode(name), digest_size=4).hexdigest()
    return f".{name[:40]}.{digest}.chainrule-tmp."


_TEMP_OWNER = re.compile(r"(?P<host>[0-9a-f]{8})-(?P<pid>[1-9][0-9]{0,9})-[0-9a-f]{8}")


def _host_tag():
    # A pid only identifies a process on its own host: on a shared (network) directory, a temporary
    # written from another machine is never judged stale by this one.
    return hashlib.blake2s(socket.gethostname().encode("utf-8", "replace"), digest_size=4).hexdigest()


def _create_temporary(directory, prefix, private):
    """Create and open a new temporary file; returns (fd, path). A new checkpoint's temporary is
    created with mode 0o666 so that the umask applies exactly as for open(); when a file is being
    replaced it starts private (0o600) and gets that file's mode before any data is written."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    owner = f"{_host_tag()}-{os.getpid()}-"
    while True:
        tmp = os.path.join(directory, prefix + owner + secrets.token_hex(4))
        try:
            return os.open(tmp, flags, 0o600 if private else 0o666), tmp
        except FileExistsError:
            continue


def _remove_stale_temporaries(directory, prefix):
    """Delete temporaries of the same target left by saves that were killed: those written on this
    host by a process that no longer runs. Temporaries of this process (another thread may be
    saving) and of live processes are kept; failures are ignored, the save itself matters more."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    host = _host_tag()
    for entry in names:
        if not entry.startswith(prefix):
            continue
        owner = _TEMP_OWNER.fullmatch(entry[len(prefix) :])
        if owner is None or owner["host"] != host:
            continue
        pid = int(owner["pid"])
        if pid == os.getpid() or _pid_alive(pid):
            continue
        try:
            os.unlink(os.path.join(directory, entry))
        except OSError:
            pass


def _pid_alive(pid):
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows: never judge it stale there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, but someone else's
        return True
    return True


def _fsync_directory(directory):
    # Makes the rename itself durable; POSIX only (directories can't be opened on Windows).
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------- load


def load(path: str | os.PathLike[str] | IO[bytes]) -> Any:
    """Load what :func:`save` wrote, from a path or an open binary file object.

    Never unpickles and never evaluates anything from the file. A file holding pickled Python
    objects, a truncated, corrupt or altered file, a file that is not a chainrule checkpoint, and
    one whose entries declare more data than its structure and array shapes need (a "zip bomb")
    each raise :class:`CheckpointError` (a ValueError) saying which, before the offending data is
    decompressed. Only the entries the structure refers to are read, each exactly as large as its
    dtype and shape say, so memory use is the arrays the checkpoint declares plus its structure
    and a 1 MiB read buffer. A missing file raises FileNotFoundError; arrays too large for this
    machine's memory raise MemoryError.
    """
    if hasattr(path, "read"):  # an open binary file object
        content = path.read()
        name = getattr(path, "name", "<file object>")
        return _load_archive(io.BytesIO(content), len(content), name)
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"nn.load: no such file: {name!r}")
    with open(name, "rb") as f:
        return _load_archive(f, os.fstat(f.fileno()).st_size, name)


def _load_archive(f, size, name):
    magic = f.read(6)
    f.seek(0)
    if magic[:1] == b"\x80":
        raise CheckpointError(
            f"nn.load: {name!r} is a Python pickle (e.g. written by torch.save or pickle.dump); "
            f"refusing to load it: unpickling can run arbitrary code. Save with nn.save."
        )
    if magic == b"\x93NUMPY":
        raise CheckpointError(
            f"nn.load: {name!r} is a single .npy array, not a chainrule checkpoint (the .npz archive nn.save writes)"
        )
    if magic[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise CheckpointError(
            f"nn.load: {name!r} is not a chainrule checkpoint (not an .npz archive; it starts "
            f"with {magic!r}). Checkpoints are written by nn.save."
        )
    try:
        with zipfile.ZipFile(f) as archive:
            return _Reader(archive, size, name).load()
    except CheckpointError:
        raise
    except MemoryError:
        raise  # only arrays the file consistently declares are allocated: this machine is short of memory
    except Exception as e:
        # The bytes are untrusted: zipfile, zlib, json and numpy signal damage with many exception types
        # (BadZipFile, EOFError, zlib.error, OSError, struct.error, UnicodeDecodeError, RecursionError,
        # OverflowError, NotImplementedError, ...). The contract is one type, saying what broke.
        raise CheckpointError(
            f"nn.load: {name!r} is truncated or corrupt, or not a chainrule checkpoint "
            f"({type(e).__name__}: {e}). {_REMEDY}"
        ) from None


class _Npy(NamedTuple):
    """A validated .npy zip entry: where its data starts and what it holds."""

    info: zipfile.ZipInfo
    dtype: np.dtype
    shape: tuple
    fortran_order: bool
    data_offset: int
    nbytes: int


# numpy writes the header as repr of a dict with sorted keys: {'descr': '<f4', 'fortran_order': False,
# 'shape': (2, 3), }. Parsing exactly that (instead of numpy's ast.literal_eval) means a damaged header
# is a clean mismatch, never a tokenizer error, a deep recursion or a huge integer.
_NPY_HEADER = re.compile(
    r"\{\s*'descr'\s*:\s*'(?P<descr>[^']{1,16})'\s*,"
    r"\s*'fortran_order'\s*:\s*(?P<fortran>True|False)\s*,"
    r"\s*'shape'\s*:\s*\((?P<shape>[0-9,\s]{0,1600})\)\s*,?\s*\}\s*"
)
_NPY_DESCR = re.compile(r"[<>|=]?(?:[biufc][0-9]{1,2}|U[0-9]{1,9})")
_NPY_OBJECT_DESCR = re.compile(r"[<>|=]?O[0-9]*")


class _Reader:
    """One load: checks the archive's entries against its structure, then reads the arrays."""

    def __init__(self, archive, size, name):
        self.archive, self.size, self.name = archive, size, name

    def fail(self, what, remedy=_REMEDY):
        return CheckpointError(f"nn.load: {self.name!r} {what}. {remedy}")

    def load(self):
        infos = self.archive.infolist()
        entries = {info.filename: info for info in infos}
        if len(entries) != len(infos):
            raise self.fail("holds two zip entries with the same name (nn.save never writes that)")
        for info in infos:
            self.check_entry(info)
        # Overlapping entries would let a small file declare many large, consistent entries on the same bytes.
        if sum(info.compress_size for info in infos) > self.size:
            raise self.fail("declares more compressed data than the file holds (overlapping zip entries)")
        if _TAG_ENTRY + ".npy" not in entries or _STRUCTURE_ENTRY + ".npy" not in entries:
            raise CheckpointError(
                f"nn.load: {self.name!r} is an .npz file but not a chainrule checkpoint (it lacks "
                f"the {_TAG_ENTRY} tag); it holds {sorted(entries)[:5]}. Checkpoints are "
                f"written by nn.save."
            )
        tag = self.read_text(entries[_TAG_ENTRY + ".npy"], _MAX_TAG_BYTES)
        if tag != _TAG:
            raise CheckpointError(
                f"nn.load: {self.name!r} has format {tag[:100]!r}; this version reads {_TAG!r} "
                f"(was it written by a newer chainrule?)"
            )
        text = self.read_text(entries[_STRUCTURE_ENTRY + ".npy"], _MAX_STRUCTURE_BYTES)
        try:
            structure = json.loads(text)
        except RecursionError:
            raise self.fail(f"has a structure nested deeper than the {_MAX_DEPTH} levels nn.save writes") from None
        except ValueError as e:
            raise self.fail(f"has a structure that is not valid JSON ({e})") from None
        references = _array_references(structure, self.fail)
        wanted = {_TAG_ENTRY + ".npy", _STRUCTURE_ENTRY + ".npy"} | {key + ".npy" for key in references}
        missing = sorted(key for key in references if key + ".npy" not in entries)
        if missing:
            raise self.fail(f"has a structure that refers to array {missing[0]!r}, which the file does not hold")
        unreferenced = sorted(set(entries) - wanted)
        if unreferenced:
            entries_text = "a zip entry" if len(unreferenced) == 1 else f"{len(unreferenced)} zip entries"
            raise self.fail(
                f"holds {entries_text} its structure never refers to "
                f"({', '.join(map(repr, unreferenced[:5]))}); nn.save writes none, so the file was "
                f"altered or crafted (nothing of them was read)"
            )
        # Every header is checked before any array is allocated, so a bad last entry costs nothing.
        headers = {key: self.read_header(entries[key + ".npy"]) for key in references}
        for key, header in headers.items():
            if header.dtype.kind not in "biufc":
                raise self.fail(
                    f"has an array {key!r} of dtype {header.dtype}; checkpoints hold only numeric and bool arrays"
                )
        try:
            arrays = {key: self.read_array(header) for key, header in headers.items()}
        except MemoryError:
            # Not a malformed file as far as anyone can tell without the memory: say how much it asks for.
            total = sum(header.nbytes for header in headers.values())
            raise MemoryError(
                f"nn.load: {self.name!r} holds arrays of {total:,} bytes in all, more than this machine could allocate"
            ) from None
        try:
            return _decode(structure, arrays, "obj")
        except Exception as e:  # also e.g. an unhashable key, an int tensor marked requires_grad, a bad number
            detail = str(e) if isinstance(e, CheckpointError) else f"{type(e).__name__}: {e}"
            raise self.fail(
                f"has a malformed structure ({detail}); it was not written by nn.save or has been altered"
            ) from None

    def check_entry(self, info):
        """Refuses, from the zip directory alone, an entry that could not be what nn.save writes
        or that claims more data than its compressed bytes can hold."""
        entry = info.filename
        if info.flag_bits & 0x1:
            raise self.fail(f"has an encrypted zip entry {entry!r}; nn.save never encrypts")
        if info.compress_size > self.size or info.header_offset > self.size:
            raise self.fail(f"is truncated: zip entry {entry!r} lies beyond the file's {self.size} bytes")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise self.fail(
                    f"has an uncompressed zip entry {entry!r} whose two sizes disagree "
                    f"({info.file_size} and {info.compress_size})"
                )
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 64:
                raise self.fail(
                    f"has a zip entry {entry!r} claiming {info.file_size} bytes from "
                    f"{info.compress_size} compressed bytes, more than deflate can produce"
                )
        else:
            raise self.fail(
                f"has a zip entry {entry!r} compressed with method {info.compress_type}; checkpoints "
                f"are stored uncompressed or deflated"
            )

    def read_header(self, info):
        """Reads and validates the .npy header of ``info`` (a few hundred bytes) and checks that the
        entry's declared size is exactly what the header, dtype and shape need."""
        with self.archive.open(info) as stream:
            preamble = stream.read(10)
            if len(preamble) < 10 or preamble[:6] != b"\x93NUMPY":
                raise self.fail(f"has a zip entry {info.filename!r} that is not a .npy array")
            major = preamble[6]
            if major == 1:
                header_length, start = int.from_bytes(preamble[8:10], "little"), 10
            elif major in (2, 3):
                more = stream.read(2)
                header_length, start = int.from_bytes(preamble[8:10] + more, "little"), 12
            else:
                raise self.fail(f"has a .npy entry {info.filename!r} in format version {major}, which is unknown")
            if header_length > _MAX_NPY_HEADER:
                raise self.fail(
                    f"has a .npy entry {info.filename!r} with a {header_length}-byte header "
                    f"(numpy writes a few hundred)"
                )
            raw = stream.read(header_length)
        if len(raw) != header_length:
            raise self.fail(f"is truncated inside the header of {info.filename!r}")
        header = _NPY_HEADER.fullmatch(raw.decode("utf-8" if major == 3 else "latin-1"))
        if header is None:
            raise self.fail(f"has a damaged .npy header in {info.filename!r}")
        descr = header["descr"]
        if _NPY_OBJECT_DESCR.fullmatch(descr):
            raise CheckpointError(
                f"nn.load: {self.name!r} holds pickled Python objects (an array of dtype object "
                f"in {info.filename!r}); refusing to load it (unpickling can run arbitrary code). "
                f"Checkpoints written by nn.save never contain any."
            )
        if not _NPY_DESCR.fullmatch(descr):
            raise self.fail(
                f"has an array {info.filename!r} of dtype {descr!r}; checkpoints hold only numeric and bool arrays"
            )
        dims = [d.strip() for d in header["shape"].split(",")]
        if dims[-1] == "":
            dims.pop()  # the trailing comma of (3,) or (2, 3, )
        if len(dims) > 64 or not all(d.isdigit() and len(d) <= 19 for d in dims):
            raise self.fail(f"has a damaged shape in the .npy header of {info.filename!r}")
        shape = tuple(int(d) for d in dims)
        dtype = np.dtype(descr)
        nbytes = math.prod(shape) * dtype.itemsize  # Python ints: a shape of 10**12 is just a large number
        data_offset = start + header_length
        if info.file_size != data_offset + nbytes:
            raise self.fail(
                f"has a zip entry {info.filename!r} of {info.file_size} bytes, but its dtype {dtype} and "
                f"shape {shape} need {data_offset + nbytes}; refusing it unread"
            )
        return _Npy(info, dtype, shape, header["fortran"] == "True", data_offset, nbytes)

    def read_array(self, npy):
        """The array of a validated entry, read in bounded chunks straight into its own memory: at most
        ``npy.nbytes`` are decompressed, whatever the stream holds, and the zip CRC is verified."""
        flat = np.empty(npy.nbytes // npy.dtype.itemsize if npy.dtype.itemsize else 0, dtype=npy.dtype)
        buffer = flat.view(np.uint8).data if npy.nbytes else memoryview(b"")
        with self.archive.open(npy.info) as stream:
            if len(stream.read(npy.data_offset)) != npy.data_offset:
                raise self.fail(f"is truncated inside {npy.info.filename!r}")
            done = 0
            while done < npy.nbytes:
                got = stream.readinto(buffer[done : done + _READ_CHUNK])
                if not got:
                    raise self.fail(f"is truncated inside {npy.info.filename!r}")
                done += got
            stream.read(1)  # reaches the end of the entry, where zipfile checks the CRC
        return flat.reshape(npy.shape, order="F" if npy.fortran_order else "C")

    def read_text(self, info, limit):
        """The string held by a 0-d unicode entry (the tag or the structure), at most ``limit`` bytes."""
        npy = self.read_header(info)
        if npy.dtype.kind != "U" or npy.shape != ():
            raise self.fail(f"has a {info.filename!r} entry of dtype {npy.dtype} and shape {npy.shape}, not a string")
        if npy.nbytes > limit:
            raise self.fail(
                f"has a {info.filename!r} entry of {npy.nbytes:,} bytes, more than the {limit:,} nn.save writes"
            )
        return str(self.read_array(npy)[()])


def _array_references(structure, fail):
    """The keys of the arrays ``structure`` refers to, each once, found without recursion; refuses
    nesting deeper than ``_MAX_DEPTH`` containers (nn.save refuses it too) and an array referred
    to twice (nn.save never shares one). Malformed nodes are left to :func:`_decode` to report."""
    references: dict[Any, None] = {}  # an ordered set: errors name the same array on every run
    stack = [(structure, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        kind = node.get("$")
        if kind in _ARRAY_KINDS:
            key = node.get("key")
            if not isinstance(key, str) or not key or key.startswith("__"):
                raise fail(f"has a structure with an invalid array reference {key!r}")
            if key in references:
                raise fail(f"has a structure that refers to array {key!r} twice (nn.save never does)")
            references[key] = None
        elif kind in _CONTAINER_KINDS and isinstance(node.get("v"), list):
            if depth >= _MAX_DEPTH:
                raise fail(f"has a structure nested deeper than the {_MAX_DEPTH} levels nn.save writes")
            for child in node["v"]:
                if kind == "dict" and isinstance(child, list):
                    stack.extend((part, depth + 1) for part in child)
                else:
                    stack.append((child, depth + 1))
    return list(references)


def _decode(node, arrays, path):
    """The object a structure node stands for; ``path`` names it for error messages. Recursive,
    but only over a structure that :func:`_array_references` has checked to be at most
    ``_MAX_DEPTH`` containers deep."""
    if node is None or isinstance(node, (bool, str)):
        return node
    if not isinstance(node, dict) or "$" not in node:
        raise CheckpointError(f"{path} is a malformed entry {node!r:.200}")
    kind = node["$"]
    if kind in _ARRAY_KINDS:
        arr = arrays[node["key"]]
        if kind == "array":
            return arr
        if kind == "npscalar":
            if arr.ndim != 0:
                raise CheckpointError(f"{path} is a numpy scalar stored as an array of shape {arr.shape}")
            return arr[()]
        t = leaf(arr)
        if node.get("requires_grad"):
            t.requires_grad_(True)
        return t
    if kind in ("int", "float"):
        if not isinstance(node.get("v"), str):
            raise CheckpointError(f"{path} is an {kind} entry without its digits")
        return int(node["v"]) if kind == "int" else float(node["v"])
    if kind in _CONTAINER_KINDS and not isinstance(node.get("v"), list):
        raise CheckpointError(f"{path} is a {kind} entry without its items")
    if kind in ("list", "tuple"):
        items = [_decode(x, arrays, f"{path}[{i}]") for i, x in enumerate(node["v"])]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        result = {}
        for k, v in node["v"]:
            key = _decode(k, arrays, path)
            if not isinstance(key, _KEY_TYPES):
                raise CheckpointError(
                    f"{path} has a dict key of type {type(key).__name__} (nn.save writes only "
                    f"strings, numbers, bools and None)"
                )
            result[key] = _decode(v, arrays, f"{path}[{key!r}]")
        return result
    raise CheckpointError(f"{path} is an entry of unknown kind {kind!r:.100} (written by a newer version?)")
