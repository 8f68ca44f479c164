"""nn.load against hostile and damaged files (zip bombs, lying sizes, deep nesting, fuzzed bytes), and
nn.save's file semantics (modes, symlinks, atomicity under SIGKILL, no piles of temporaries)."""
import io
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import autograd as ag
import nn
import optim

try:
    import resource  # POSIX only: the fuzz test's memory check
except ImportError:
    resource = None

MiB = 2 ** 20
TAG = "chainrule-checkpoint-v1"


# ------------------------------------------------------------------------------------------ helpers

def _npy(array_or_header, data=b""):
    """The bytes of a .npy file: of an array, or of a hand-written header dict text plus raw data."""
    if isinstance(array_or_header, np.ndarray):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, array_or_header, allow_pickle=False)
        return buf.getvalue()
    header = array_or_header.encode("latin-1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def _header(descr, shape):
    return f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"


def _text(s):
    return _npy(np.array(s))


def _checkpoint_entries(structure, **arrays):
    """(name, npy bytes) pairs of a checkpoint, written here so that they can be tampered with."""
    entries = [("__chainrule__.npy", _text(TAG)), ("__structure__.npy", _text(json.dumps(structure)))]
    return entries + [(f"{k}.npy", v if isinstance(v, bytes) else _npy(v)) for k, v in arrays.items()]


def _write_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in entries:
            z.writestr(name, data)


def _deflate(chunks):
    """(compressed bytes, uncompressed size, crc32) of the concatenated chunks, streamed."""
    compressor, out, size, crc = zlib.compressobj(9, zlib.DEFLATED, -15), [], 0, 0
    for chunk in chunks:
        out.append(compressor.compress(chunk))
        size, crc = size + len(chunk), zlib.crc32(chunk, crc)
    out.append(compressor.flush())
    return b"".join(out), size, crc


def _raw_zip(entries):
    """A zip archive assembled by hand, so that it can lie. Each entry is a dict with ``name``,
    ``stored`` (the bytes as they lie in the file), ``method`` (0 stored, 8 deflated), ``file_size``
    and ``crc`` (the uncompressed size and CRC the directory declares) and optionally ``flags``."""
    body, directory = bytearray(), bytearray()
    for e in entries:
        name, flags = e["name"].encode(), e.get("flags", 0)
        fields = (20, 0, flags, e["method"], 0, 33, e["crc"], len(e["stored"]), e["file_size"])
        offset = len(body)
        body += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", *fields, len(name), 0) + name + e["stored"]
        directory += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, *fields, len(name), 0, 0, 0, 0, 0,
                                 offset) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), len(body), 0)
    return bytes(body + directory + end)


def _stored(name, data, **overrides):
    entry = {"name": name, "stored": data, "method": 0, "file_size": len(data), "crc": zlib.crc32(data)}
    return {**entry, **overrides}


def _load_peak(path):
    """nn.load(path) under tracemalloc (numpy reports its array buffers to it): (result or the
    exception raised, peak bytes allocated during the load)."""
    tracemalloc.start()
    try:
        try:
            result = nn.load(path)
        except Exception as e:  # the caller asserts what it was
            result = e
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _load_anonymously(path):
    """nn.load of the file's bytes, so that error messages hold no path a `match` could hit by chance."""
    return nn.load(io.BytesIO(path.read_bytes()))


def _said(err, path):
    """The message of ``err`` without the path it names."""
    return str(err).replace(repr(str(path)), "<path>")


def _zeros(total, chunk=MiB):
    block = bytes(chunk)
    for _ in range(total // chunk):
        yield block


def _small_training_state():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(ag.randn(5, 3)).sum().backward()
    opt.step()
    return {"model": model.state_dict(), "optim": opt.state_dict()}


# --------------------------------------------------------------- 1. checkpoint bombs and lying sizes

def test_unreferenced_entry_is_refused_without_being_decompressed(tmp_path):
    """A real checkpoint plus a zip entry its structure never mentions: 64 MiB of zeros deflated
    to ~64 KiB. The old loader decompressed every entry of the archive."""
    path = tmp_path / "bomb.npz"
    nn.save({"w": ag.ones(3)}, path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z, z.open("bomb", "w") as w:
        for block in _zeros(64 * MiB):
            w.write(block)
    assert path.stat().st_size < MiB
    err, peak = _load_peak(path)
    assert isinstance(err, nn.CheckpointError), err
    assert "never refers to" in _said(err, path) and "'bomb'" in _said(err, path)
    assert peak < 4 * MiB


def test_entry_larger_than_its_declared_shape_is_refused_unread(tmp_path):
    """a0 declares two float64s, but its zip entry holds 64 MiB (deflated): refused from the sizes alone."""
    a0 = _npy(_header("<f8", (2,)), bytes(16))
    entries = _checkpoint_entries({"$": "array", "key": "a0"})
    path = tmp_path / "big.npz"
    _write_zip(path, entries, compression=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z, z.open("a0.npy", "w") as w:
        w.write(a0)
        for block in _zeros(64 * MiB):
            w.write(block)
    err, peak = _load_peak(path)
    assert isinstance(err, nn.CheckpointError), err
    assert "a0.npy" in _said(err, path) and "need 144" in _said(err, path)
    assert peak < 4 * MiB


def test_huge_declared_shape_is_refused_before_allocating(tmp_path):
    """A header declaring 10**12 float64s over 16 bytes of data (the old loader: MemoryError)."""
    path = tmp_path / "huge.npz"
    entries = _checkpoint_entries({"$": "array", "key": "a0"}, a0=_npy(_header("<f8", (10 ** 12,)), bytes(16)))
    _write_zip(path, entries)
    err, peak = _load_peak(path)
    assert isinstance(err, nn.CheckpointError), err
    assert "(1000000000000,)" in _said(err, path)
    assert peak < 4 * MiB


def test_entry_claiming_more_than_deflate_can_produce_is_refused(tmp_path):
    """The directory claims 1 GiB (consistent with the header's shape) from a few bytes of deflate
    stream: the old loader allocated the whole GiB before finding the stream short."""
    header = _npy(_header("<f8", (2 ** 27,)))
    compressed, _, crc = _deflate([header, bytes(1024)])  # the CRC of what is there: no early mismatch
    entries = [_stored(name, data) for name, data in _checkpoint_entries({"$": "array", "key": "a0"})]
    entries.append({"name": "a0.npy", "stored": compressed, "method": 8, "file_size": len(header) + 2 ** 30,
                    "crc": crc})
    path = tmp_path / "claim.npz"
    path.write_bytes(_raw_zip(entries))
    err, peak = _load_peak(path)
    assert peak < 4 * MiB
    assert isinstance(err, nn.CheckpointError), err
    assert "more than deflate can produce" in _said(err, path)


def test_entries_claiming_more_compressed_bytes_than_the_file_holds_are_refused(tmp_path):
    """Overlapping entries (the 'better zip bomb': many directory entries reusing one deflate
    kernel) claim more compressed bytes in all than the file holds, though each claim alone fits."""
    data = _checkpoint_entries({"$": "list", "v": [{"$": "array", "key": "a0"}, {"$": "array", "key": "a1"}]},
                               a0=np.zeros(4096), a1=np.zeros(4096))
    archive = bytearray(_raw_zip([_stored(name, payload) for name, payload in data]))
    a1_central = archive.rindex(b"a1.npy") - 46  # a1's directory entry, 46 bytes before its name
    claim = len(archive) - 100  # fits in the file on its own; with a0's 32 KiB, it no longer does
    archive[a1_central + 20:a1_central + 28] = struct.pack("<2L", claim, claim)  # compressed, uncompressed
    path = tmp_path / "overlap.npz"
    path.write_bytes(bytes(archive))
    with pytest.raises(nn.CheckpointError, match="more compressed data than the file holds"):
        _load_anonymously(path)


def test_lying_uncompressed_size_cannot_inflate_more_than_declared(tmp_path):
    """The directory declares the right size for a0 (two float64s), but the deflate stream goes on
    for 64 MiB: only the declared bytes are decompressed, and the CRC of the whole stream fails."""
    header = _npy(_header("<f8", (2,)))
    compressed, size, crc = _deflate([header, bytes(16)] + list(_zeros(64 * MiB)))
    entries = [_stored(name, data) for name, data in _checkpoint_entries({"$": "array", "key": "a0"})]
    entries.append({"name": "a0.npy", "stored": compressed, "method": 8, "file_size": len(header) + 16, "crc": crc})
    path = tmp_path / "liar.npz"
    path.write_bytes(_raw_zip(entries))
    err, peak = _load_peak(path)
    assert isinstance(err, nn.CheckpointError) and "CRC" in _said(err, path), err
    assert peak < 4 * MiB


def test_real_deflated_checkpoint_still_loads(tmp_path):
    """np.savez_compressed writes what nn.save writes, deflated: consistent, so it loads."""
    path = tmp_path / "compressed.npz"
    entries = _checkpoint_entries({"$": "dict", "v": [["w", {"$": "tensor", "key": "a0", "requires_grad": True}]]},
                                  a0=np.arange(12, dtype=np.float32).reshape(3, 4))
    _write_zip(path, entries, compression=zipfile.ZIP_DEFLATED)
    back = nn.load(path)
    assert back["w"].requires_grad and back["w"].shape == (3, 4)
    np.testing.assert_array_equal(back["w"].data, np.arange(12, dtype=np.float32).reshape(3, 4))


def test_fortran_ordered_and_big_endian_arrays_load(tmp_path):
    path = tmp_path / "orders.npz"
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    big = np.arange(4, dtype=">i4")
    _write_zip(path, _checkpoint_entries({"$": "list", "v": [{"$": "array", "key": "a0"}, {"$": "array", "key": "a1"}]},
                                         a0=f, a1=big))
    a, b = nn.load(path)
    np.testing.assert_array_equal(a, f)
    np.testing.assert_array_equal(b, big)


# ------------------------------------------------------------ 2. every malformed file: CheckpointError

def _structure_file(tmp_path, structure_text, **arrays):
    path = tmp_path / "s.npz"
    entries = [("__chainrule__.npy", _text(TAG)), ("__structure__.npy", _text(structure_text))]
    _write_zip(path, entries + [(f"{k}.npy", _npy(v)) for k, v in arrays.items()])
    return path


def test_deeply_nested_structure_is_a_checkpoint_error(tmp_path):
    # 900 levels: the old loader raised RecursionError (from json or from its recursive decoder)
    deep = '{"$": "list", "v": [' * 900 + "]}" * 900
    with pytest.raises(nn.CheckpointError, match="nested deeper"):
        _load_anonymously(_structure_file(tmp_path, deep))
    # 150 levels parse as JSON, and are still more than nn.save writes
    with pytest.raises(nn.CheckpointError, match="nested deeper than the 100 levels"):
        _load_anonymously(_structure_file(tmp_path, '{"$": "list", "v": [' * 150 + "]}" * 150))


def test_save_and_load_agree_on_the_nesting_limit(tmp_path):
    deepest = leaf = {"x": ag.ones(2)}
    for i in range(99):  # 100 containers in all, lists and dicts alternating
        deepest = [deepest] if i % 2 else {"k": deepest}
    nn.save(deepest, tmp_path / "deep")
    back = nn.load(tmp_path / "deep")
    for i in reversed(range(99)):
        back = back[0] if i % 2 else back["k"]
    np.testing.assert_array_equal(back["x"].data, leaf["x"].data)
    with pytest.raises(ValueError, match="nested more than 100"):
        nn.save([deepest], tmp_path / "too-deep")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="does a container hold itself"):  # the old save: RecursionError
        nn.save(loop, tmp_path / "loop")
    assert sorted(os.listdir(tmp_path)) == ["deep"]


def test_int_tensor_marked_requires_grad_is_a_checkpoint_error(tmp_path):
    path = _structure_file(tmp_path, '{"$": "tensor", "key": "a0", "requires_grad": true}', a0=np.arange(3))
    with pytest.raises(nn.CheckpointError, match="malformed structure"):  # the old loader: RuntimeError
        _load_anonymously(path)


def test_encrypted_entry_is_a_checkpoint_error(tmp_path):
    entries = [_stored(name, data) for name, data in _checkpoint_entries([1, 2])]
    entries[1]["flags"] = 1  # "encrypted": zipfile would ask for a password (RuntimeError)
    path = tmp_path / "locked.npz"
    path.write_bytes(_raw_zip(entries))
    with pytest.raises(nn.CheckpointError, match="encrypted"):
        _load_anonymously(path)


@pytest.mark.parametrize("structure, match", [
    ('{"$": "dict", "v": [[{"$": "list", "v": []}, 1]]}', "malformed"),     # unhashable key
    ('{"$": "list", "v": "abc"}', "without its items"),
    ('{"$": "int", "v": 3}', "without its digits"),
    ('{"$": "list", "v": [{"$": "array", "key": "a0"}, {"$": "array", "key": "a0"}]}', "twice"),
    ('{"$": "array", "key": "__structure__"}', "invalid array reference"),
    ('{"$": "npscalar", "key": "a0"}', "numpy scalar"),
    ('[1, 2', "not valid JSON"),
])
def test_malformed_structures(tmp_path, structure, match):
    arrays = {"a0": np.arange(3)} if '"a0"' in structure else {}
    with pytest.raises(nn.CheckpointError, match=match):
        _load_anonymously(_structure_file(tmp_path, structure, **arrays))


@pytest.mark.parametrize("header, match", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, ", "damaged"),  # numpy's parser: tokenize.TokenError
    ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", "damaged"),
    ("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,), }", "dtype"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", "pickle"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", "damaged"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (" + "(" * 500 + ")" * 500 + "), }", "damaged"),
])
def test_damaged_array_headers(tmp_path, header, match):
    path = tmp_path / "h.npz"
    _write_zip(path, _checkpoint_entries({"$": "array", "key": "a0"}, a0=_npy(header, bytes(16))))
    with pytest.raises(nn.CheckpointError, match=match):
        _load_anonymously(path)


def test_unsupported_compression_and_duplicate_entries(tmp_path):
    path = tmp_path / "bz.npz"
    _write_zip(path, _checkpoint_entries([1]), compression=zipfile.ZIP_BZIP2)
    with pytest.raises(nn.CheckpointError, match="method 12"):
        _load_anonymously(path)
    entries = [_stored(name, data) for name, data in _checkpoint_entries([1])]
    path.write_bytes(_raw_zip(entries + entries[1:]))
    with pytest.raises(nn.CheckpointError, match="same name"):
        _load_anonymously(path)


def test_fuzzed_checkpoints_load_or_raise_checkpoint_error(tmp_path):
    """Byte flips and truncations of a real checkpoint (a model's and an Adam optimizer's
    state_dict): each load returns or raises CheckpointError, never another type, and memory stays
    flat. The old loader let tokenize.TokenError, RuntimeError and others through."""
    buf = io.BytesIO()
    nn.save(_small_training_state(), buf)
    data = buf.getvalue()
    rng = np.random.default_rng(0)
    flips = [(int(i), int(x)) for i, x in zip(rng.choice(len(data), 400, replace=False), rng.integers(1, 256, 400))]
    flips += [(i, 0xFF) for i in range(0, len(data), 41)]
    cuts = sorted(set(rng.integers(0, len(data), 250).tolist()) | {0, 1, 6, 22, len(data) - 1})
    variants = []
    for i, x in flips:
        damaged = bytearray(data)
        damaged[i] ^= x
        variants.append((f"flip {i} ^ {x:#x}", bytes(damaged)))
    variants += [(f"cut {n}", data[:n]) for n in cuts]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if resource else 0
    outcomes = {"loaded": 0, "refused": 0}
    for what, damaged in variants:
        try:
            nn.load(io.BytesIO(damaged))
            outcomes["loaded"] += 1
        except nn.CheckpointError:
            outcomes["refused"] += 1
        except Exception as e:  # pragma: no cover - the failure report
            pytest.fail(f"{what}: {type(e).__name__}: {e}")
    assert outcomes["refused"] > len(variants) // 2
    if resource:  # (the tracemalloc-based tests above bound single loads more tightly)
        rss_unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
        assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * rss_unit < 64 * MiB


# --------------------------------------------------------------------- 3. save's file semantics

@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_new_file_mode_follows_the_umask(tmp_path, umask):
    for mask, mode in ((0o022, 0o644), (0o002, 0o664), (0o077, 0o600)):
        umask(mask)
        path = tmp_path / f"m{mask:o}.ckpt"
        nn.save({"step": 1}, path)
        reference = tmp_path / f"open{mask:o}"
        with open(reference, "wb"):
            pass
        assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_overwrite_keeps_the_existing_mode(tmp_path, umask):
    path = tmp_path / "ckpt"
    for mode in (0o644, 0o640, 0o666):
        path.write_bytes(b"old")
        path.chmod(mode)
        nn.save({"step": 2}, path)
        assert stat.S_IMODE(path.stat().st_mode) == mode
        assert nn.load(path) == {"step": 2}


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_read_only_file_is_treated_as_open_would(tmp_path):
    path = tmp_path / "frozen.ckpt"
    nn.save({"step": 1}, path)
    path.chmod(0o444)
    try:
        open(path, "ab").close()  # does not truncate: asks only whether open(path, 'wb') may write
        writable = True
    except PermissionError:
        writable = False
    if writable:  # root: open() writes read-only files too
        nn.save({"step": 2}, path)
        assert nn.load(path) == {"step": 2} and stat.S_IMODE(path.stat().st_mode) == 0o444
    else:
        with pytest.raises(PermissionError, match="read-only"):
            nn.save({"step": 2}, path)
        assert nn.load(path) == {"step": 1}
    assert os.listdir(tmp_path) == ["frozen.ckpt"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_symlink_is_written_through(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    target = real_dir / "model.ckpt"
    nn.save({"step": 1}, target)
    target.chmod(0o640)
    link = tmp_path / "latest.ckpt"
    link.symlink_to(os.path.join("store", "model.ckpt"))  # relative, as `ln -s` usually makes them
    nn.save({"step": 2}, link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("store", "model.ckpt")
    assert nn.load(target) == {"step": 2} and nn.load(link) == {"step": 2}
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["latest.ckpt", "store"] and os.listdir(real_dir) == ["model.ckpt"]
    dangling = tmp_path / "next.ckpt"
    dangling.symlink_to(real_dir / "new.ckpt")  # open(path, 'wb') creates the missing target
    nn.save({"step": 3}, dangling)
    assert dangling.is_symlink() and nn.load(real_dir / "new.ckpt") == {"step": 3}


def test_file_objects_still_work():
    state = _small_training_state()
    buf = io.BytesIO()
    nn.save(state, buf)
    buf.seek(0)
    back = nn.load(buf)
    assert list(back["model"]) == list(state["model"])
    for k, v in state["model"].items():
        np.testing.assert_array_equal(back["model"][k].data, v.data)
    assert back["optim"]["param_groups"] == state["optim"]["param_groups"]
    np.testing.assert_array_equal(back["optim"]["state"][0]["exp_avg"].data, state["optim"]["state"][0]["exp_avg"].data)


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _temporaries(directory, checkpoint="ckpt.npz"):
    return sorted(n for n in os.listdir(directory) if n != checkpoint)  # whatever a save names them


def test_stale_temporaries_of_dead_saves_are_removed_and_live_ones_kept(tmp_path):
    from nn.serialization import _host_tag, _temp_prefix

    path = tmp_path / "ckpt.npz"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = _host_tag()
        dead = _temp_prefix("ckpt.npz") + f"{host}-{_dead_pid()}-0123abcd"
        live = _temp_prefix("ckpt.npz") + f"{host}-{sleeper.pid}-0123abcd"
        other_host = _temp_prefix("ckpt.npz") + f"{'0' * 8 if host != '0' * 8 else '1' * 8}-{_dead_pid()}-0123abcd"
        other_target = _temp_prefix("other.npz") + f"{host}-{_dead_pid()}-0123abcd"
        for name in (dead, live, other_host, other_target, "unrelated.txt"):
            (tmp_path / name).write_bytes(b"partial")
        nn.save({"step": 1}, path)
        assert sorted(os.listdir(tmp_path)) == sorted([live, other_host, other_target, "unrelated.txt", "ckpt.npz"])
    finally:
        sleeper.kill()
        sleeper.wait()


_KILLED_SAVE = """
import sys, numpy as np, nn
print("ready", flush=True)
sys.stdin.readline()
nn.save({"step": 2, "w": [np.full(2 ** 21, i, dtype=np.float64) for i in range(12)]}, sys.argv[1])
print("done", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL")
def test_saves_killed_mid_write_keep_the_old_checkpoint_and_leave_no_pile_of_temporaries(tmp_path):
    """Each child saves ~200 MB and is SIGKILLed as soon as its temporary holds data. The old
    checkpoint stays loadable each time; the next good save removes the temporaries of all of them."""
    path = tmp_path / "ckpt.npz"
    nn.save({"step": 1}, path)
    killed = 0
    for attempt in range(12):
        child = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(path)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline() == "ready\n"
            child.stdin.write("go\n")
            child.stdin.flush()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and child.poll() is None:
                partial = [n for n in _temporaries(tmp_path) if os.path.getsize(tmp_path / n) > MiB]
                if partial:
                    child.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.001)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            child.stdout.close()
            child.stdin.close()
        if child.returncode == -signal.SIGKILL and nn.load(path) == {"step": 1}:
            killed += 1
        else:  # the save finished before the kill landed: start over from the old checkpoint
            nn.save({"step": 1}, path)
        assert nn.load(path)["step"] in (1, 2)
        if killed == 3:
            break
    assert killed == 3, "no save was killed mid-write"
    assert len(_temporaries(tmp_path)) >= 1  # a SIGKILL can't clean up: the next save must
    nn.save({"step": 3}, path)
    assert os.listdir(tmp_path) == ["ckpt.npz"] and nn.load(path) == {"step": 3}


_CONCURRENT_SAVES = """
import sys, numpy as np, nn
for i in range(6):
    nn.save({"writer": sys.argv[2], "i": i, "w": np.full(2 ** 20, i, dtype=np.float64)}, sys.argv[1])
"""


def test_concurrent_saves_never_remove_each_others_temporaries(tmp_path):
    """Two processes saving the same target at once: each save's stale-temporary sweep sees the
    other's live temporary and must leave it (removing it would make that os.replace fail)."""
    path = tmp_path / "ckpt.npz"
    writers = [subprocess.Popen([sys.executable, "-c", _CONCURRENT_SAVES, str(path), name], stderr=subprocess.PIPE,
                                text=True) for name in ("a", "b")]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    back = nn.load(path)
    assert back["writer"] in ("a", "b") and back["i"] == 5
    assert os.listdir(tmp_path) == ["ckpt.npz"]
