"""nn.save / nn.load: round trips, and the files that must be refused without running anything."""
import io
import os
import pickle
import re
import zipfile

import numpy as np
import pytest

import autograd as ag
import nn


def _refused(path, match):
    """nn.load(path) raises CheckpointError saying ``match``, searched with the path left out (a
    tmp_path repeats the test's name, which alone would satisfy patterns such as "pickle")."""
    with pytest.raises(nn.CheckpointError) as info:
        nn.load(path)
    message = str(info.value)
    if isinstance(path, (str, os.PathLike)):
        message = message.replace(repr(os.fspath(path)), "<path>")
    assert re.search(match, message), message


def test_state_dict_round_trip(tmp_path):
    model = nn.MLP([4, 8, 3], batch_norm=True)
    model(ag.randn(5, 4))  # move the running statistics
    path = tmp_path / "model.ckpt"
    nn.save(model.state_dict(), path)
    assert os.listdir(tmp_path) == ["model.ckpt"]  # exactly the name given, no temporary left behind
    loaded = nn.load(path)
    assert list(loaded) == list(model.state_dict())
    for k, v in model.state_dict().items():
        assert isinstance(loaded[k], ag.Tensor) and loaded[k].dtype == v.dtype
        np.testing.assert_array_equal(loaded[k].data, v.data)
    twin = nn.MLP([4, 8, 3], batch_norm=True)
    twin.load_state_dict(loaded)
    model.eval()
    twin.eval()
    x = ag.randn(2, 4)
    np.testing.assert_array_equal(twin(x).data, model(x).data)


def test_nested_structures_round_trip(tmp_path):
    obj = {
        "state": {0: {"step": 3, "exp_avg": ag.tensor([1.0, 2.0]), "flag": True},
                  1: {"momentum_buffer": None}},
        "param_groups": [{"params": [0, 1], "lr": 1e-3, "betas": (0.9, 0.999), "name": "main", "nan": float("nan")}],
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "scalar": np.float32(2.5),
        "bools": np.array([True, False]),
        "big": 2 ** 70,
        "w": ag.tensor([[1.5]], dtype=ag.float64, requires_grad=True),
        "empty": [],
    }
    nn.save(obj, tmp_path / "opt.npz")
    back = nn.load(str(tmp_path / "opt.npz"))
    assert back["state"][0]["step"] == 3 and back["state"][0]["flag"] is True
    assert list(back["state"]) == [0, 1] and back["state"][1]["momentum_buffer"] is None
    np.testing.assert_array_equal(back["state"][0]["exp_avg"].data, [1.0, 2.0])
    group = back["param_groups"][0]
    assert group["params"] == [0, 1] and group["lr"] == 1e-3 and group["betas"] == (0.9, 0.999)
    assert group["name"] == "main" and np.isnan(group["nan"])
    assert back["array"].dtype == np.int32 and back["array"].shape == (2, 3)
    assert back["scalar"] == np.float32(2.5) and back["scalar"].dtype == np.float32
    assert back["big"] == 2 ** 70 and back["empty"] == []
    assert back["w"].requires_grad and back["w"].dtype == np.float64
    np.testing.assert_array_equal(back["bools"], [True, False])


def test_optimizer_state_dict_round_trip(tmp_path):
    import optim

    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(ag.randn(4, 3)).sum().backward()
    opt.step()
    nn.save(opt.state_dict(), tmp_path / "opt")
    opt2 = optim.Adam(model.parameters(), lr=0.01)
    opt2.load_state_dict(nn.load(tmp_path / "opt"))
    assert opt2.state_dict()["param_groups"][0]["lr"] == 0.01


def test_unsupported_objects_raise_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match="can't store a object"):
        nn.save({"a": object()}, path)
    with pytest.raises(TypeError, match="dtype object"):
        nn.save({"a": np.array([None, 1], dtype=object)}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


class _Marker:
    """Unpickling this creates a file: the test checks it never appears."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickled_payloads_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    # a raw pickle (what torch.save / pickle.dump write)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_Marker(str(marker))))
    _refused(raw, "pickle")
    # an .npz whose array is an object array (np.save with allow_pickle=True) holding the payload
    npz = tmp_path / "evil.npz"
    arr = np.empty(1, dtype=object)
    arr[0] = _Marker(str(marker))
    np.savez(npz, __chainrule__=np.array("chainrule-checkpoint-v1"), __structure__=np.array('{"$": "array", "key": "a0"}'),
             a0=arr)
    _refused(npz, "pickle")
    assert not marker.exists()
    # a zip member named like an array but holding a pickle
    hand = tmp_path / "hand.npz"
    with zipfile.ZipFile(hand, "w") as z:
        z.writestr("__chainrule__.npy", pickle.dumps(_Marker(str(marker))))
    with pytest.raises(nn.CheckpointError):
        nn.load(hand)
    assert not marker.exists()


def test_truncated_and_foreign_files(tmp_path):
    good = tmp_path / "good.npz"
    nn.save({"w": ag.randn(50, 50)}, good)
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 10):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        _refused(bad, "truncated|corrupt|not a chainrule")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.ones(3))
    _refused(foreign, "not a chainrule checkpoint")
    npy = tmp_path / "one.npy"
    np.save(npy, np.ones(3))
    _refused(npy, "single .npy")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    _refused(text, "not a chainrule checkpoint")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(nn.CheckpointError):
        nn.load(empty)
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "missing.npz")
    assert issubclass(nn.CheckpointError, ValueError)


def test_interrupted_save_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    nn.save({"step": 1}, path)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        nn.save({"step": 2}, path)
    monkeypatch.undo()
    assert nn.load(path) == {"step": 1}
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # the temporary file was removed


def test_load_from_file_like_paths(tmp_path):
    path = tmp_path / "a.ckpt"
    nn.save([1, "two", 3.0], path)
    assert nn.load(os.fspath(path)) == [1, "two", 3.0]
    assert nn.load(path) == [1, "two", 3.0]
    buf = io.BytesIO()
    nn.save({"w": ag.ones(2)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(nn.load(buf)["w"].data, [1.0, 1.0])
    _refused(io.BytesIO(pickle.dumps({"a": 1})), "pickle")


def test_malformed_structure_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "odd.npz"
    np.savez(path, __chainrule__=np.array("chainrule-checkpoint-v1"), __structure__=np.array('{"$": "dict"}'))
    _refused(path, "malformed")
    np.savez(path, __chainrule__=np.array("chainrule-checkpoint-v1"), __structure__=np.array('{"$": "tensor", "key": "a9"}'))
    _refused(path, "a9")
