"""`make demo`'s script and the README's code: they run, write what they say, and show what exists.

The demo is run whole (its main()), shortened to one epoch of each network and three scalar steps so
the test stays fast; its files are checked by content (PNG and SVG signatures, the CNN's graph with
a cluster per named layer, a checkpoint that loads back into the same architecture with the trained
weights).
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re

import numpy as np

import autograd as ag
import nn
import optim

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_demo():
    spec = importlib.util.spec_from_file_location("chainrule_demo", os.path.join(ROOT, "examples", "demo.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_writes_every_file_it_announces(tmp_path, monkeypatch, capsys):
    demo = _load_demo()
    monkeypatch.setattr(demo, "OUT", str(tmp_path))
    monkeypatch.setattr(demo, "EPOCHS", 1)
    monkeypatch.setattr(demo, "CNN_EPOCHS", 1)
    monkeypatch.setattr(demo, "train_moons", functools.partial(demo.train_moons, steps=3))
    demo.main()
    printed = capsys.readouterr().out

    expected = ["digits_curves.png", "digits_training_step.svg", "digits_training_step.html", "digits_checkpoint.npz",
                "digits_cnn_curves.png", "digits_cnn_filters.png", "digits_cnn_training_step.svg",
                "moons_decision_boundary.png", "scalar_neuron.svg"]
    assert sorted(os.listdir(tmp_path)) == sorted(expected)
    for name in expected:
        assert f"wrote {os.path.relpath(os.path.join(tmp_path, name))}" in printed
    accuracy = float(re.search(r"held-out accuracy: ([0-9.]+)", printed).group(1))
    assert 0.5 < accuracy <= 1.0  # one epoch already learns the digits well above chance (0.1)
    cnn_accuracy = float(re.search(r"CNN held-out accuracy: ([0-9.]+)", printed).group(1))
    assert 0.5 < cnn_accuracy <= 1.0
    assert "Conv2d(1, 32, kernel_size=(3, 3)" in printed and "MaxPool2d" in printed and "Dropout2d" in printed

    for name in ("digits_curves.png", "digits_cnn_curves.png", "digits_cnn_filters.png", "moons_decision_boundary.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    step_svg = (tmp_path / "digits_training_step.svg").read_text()
    assert step_svg.lstrip().startswith("<?xml") and "<svg" in step_svg
    assert "cluster" in step_svg and "||grad||" in step_svg  # module clusters and the grad-norm legend
    page = (tmp_path / "digits_training_step.html").read_text()  # the explorer's page of the same step
    assert page.startswith("<!DOCTYPE html>") and "default-src 'none'" in page and 'id="cr-step-backward"' in page
    assert "<script src" not in page and 'data-cluster="MLP.0"' in page and "one training step" in page
    cnn_svg = (tmp_path / "digits_cnn_training_step.svg").read_text()
    assert cnn_svg.lstrip().startswith("<?xml") and "||grad||" in cnn_svg
    clusters = set(re.findall(r'<g id="clust\d+" class="cluster">\s*<title>[^<]*</title>.*?<text[^>]*>([^<]*)</text>',
                              cnn_svg, re.S))
    layers = {"conv1", "bn1", "relu1", "conv2", "pool1", "drop1", "conv3", "pool2", "drop2", "fc"}
    assert {f"Sequential.{name}" for name in layers} <= clusters  # one cluster a layer, each named
    assert cnn_svg.count(">conv(stride=") == 3 and cnn_svg.count(">max_pool(") == 2  # the ops inside them
    neuron_svg = (tmp_path / "scalar_neuron.svg").read_text()
    assert all(label in neuron_svg for label in ("x1", "w1", "tanh"))

    checkpoint = nn.load(tmp_path / "digits_checkpoint.npz")
    assert set(checkpoint) == {"model", "optimizer"}
    model = nn.MLP([64, 128, 64, 10], batch_norm=True, dropout=0.2)
    model.load_state_dict(checkpoint["model"])
    assert "running_mean" in " ".join(checkpoint["model"])  # batch norm's buffers are saved too
    assert checkpoint["optimizer"]["state"]  # Adam's moments


def test_checkpoint_restores_the_same_predictions(tmp_path):
    demo = _load_demo()
    ag.manual_seed(0)
    model = nn.MLP([64, 128, 64, 10], batch_norm=True, dropout=0.2)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    x = ag.rand(32, 64)
    nn.functional.cross_entropy(model(x), ag.randint(0, 10, (32,))).backward()
    optimizer.step()
    path = str(tmp_path / "ckpt.npz")
    demo.save_checkpoint(model, optimizer, path)
    restored = nn.MLP([64, 128, 64, 10], batch_norm=True, dropout=0.2)
    restored.load_state_dict(nn.load(path)["model"])
    model.eval()
    restored.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), restored(x).detach().numpy())


def _readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def test_readme_python_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the quickstart writes an SVG into the working directory
    code = "\n".join(re.findall(r"```python\n(.*?)```", _readme(), re.S))
    assert "save_svg" in code
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "mlp_training_step.svg").read_text().lstrip().startswith("<?xml")


# the README links to the repository's files by absolute URLs (so that they also work on the package
# index's page): these prefixes map a link back to a path in the checkout
REPOSITORY = ("https://raw.githubusercontent.com/chainrule/chainrule/main/", "https://github.com/chainrule/chainrule/blob/main/")


def _in_repository(link):
    for prefix in REPOSITORY:
        if link.startswith(prefix):
            return link[len(prefix):]
    return None if "://" in link else link


def test_readme_links_point_at_files_in_the_repository():
    links = re.findall(r"\]\(([^)#]+)\)", _readme())
    local = [path for path in map(_in_repository, links) if path is not None]
    assert any(path.endswith(".svg") for path in local)
    assert any(path.endswith(".ipynb") for path in local)
    missing = [path for path in local if not os.path.exists(os.path.join(ROOT, path))]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_readme_images_are_drawn_by_the_script_it_names():
    """Every image the README shows is written by scripts/render_readme_graphs.py."""
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", _readme())
    with open(os.path.join(ROOT, "scripts", "render_readme_graphs.py"), encoding="utf-8") as f:
        script = f.read()
    assert images
    for image in map(_in_repository, images):
        assert image.startswith("docs/images/") and f'"{os.path.basename(image)}"' in script
