"""Render the example graphs shown in the README into docs/images/ (run from the repository root).

    .venv/bin/python scripts/render_readme_graphs.py

Every picture is drawn by ag.save_svg from a real computation, seeded, so re-running the script
gives the same files (the Graphviz `dot` program must be installed: apt-get install graphviz). The
screenshot of the backprop explorer is taken in headless Chromium, the one the explorer's tests
drive (apt-get install chromium chromium-driver, pip install selenium: `make test` sets both up).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import autograd as ag  # noqa: E402
import nn  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "explorer"))
from headless_chromium import INSTALL_HINT, Browser, find_browser  # noqa: E402

OUT = os.path.join(ROOT, "docs", "images")


def scalar_neuron(path):
    """micrograd's neuron: o = tanh(x1 w1 + x2 w2 + b), after o.backward()."""
    x1, x2 = ag.Scalar(2.0, label="x1"), ag.Scalar(0.0, label="x2")
    w1, w2 = ag.Scalar(-3.0, label="w1"), ag.Scalar(1.0, label="w2")
    b = ag.Scalar(6.8813735870195432, label="b")
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1.label, x2w2.label = "x1*w1", "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return ag.save_svg(o, path)


def mlp_training_step(path):
    """A small MLP's loss, grouped by module and coloured by the norm of each node's gradient."""
    ag.manual_seed(0)
    model = nn.MLP([2, 8, 8, 1])
    x, y = ag.randn(16, 2), ag.randn(16, 1)
    loss = nn.MSELoss()(model(x), y)
    return ag.save_svg(loss, path, params=dict(model.named_parameters()), color_by="grad_norm")


def deep_mlp(path, activation, depth=20):
    """A deep MLP drawn with a budget of 60 nodes (max_nodes): each layer collapsed into one node,
    coloured by the norm of its parameters' gradient. Each net gets the initialisation meant for
    its activation (Xavier for sigmoid, Kaiming for ReLU); even so the sigmoid net's gradients
    vanish towards the input (sigmoid' <= 1/4 at every layer), the ReLU net's do not."""
    ag.manual_seed(0)
    model = nn.MLP([4] + [16] * depth + [1], activation=activation)
    for layer in model:
        if isinstance(layer, nn.Linear):
            if activation is nn.ReLU:
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
    x, y = ag.randn(32, 4), ag.randn(32, 1)
    loss = nn.MSELoss()(model(x), y)
    return ag.save_svg(loss, path, params=dict(model.named_parameters()), color_by="grad_norm",
                       rankdir="TB", show_data=False, max_nodes=60)


def explorer_screenshot(path):
    """The backprop explorer in the middle of the backward pass of the lecture's neuron with a
    squared loss, L = d * d for d = tanh(x1 w1 + x2 w2 + b) - t: at d, whose gradient is the sum of
    the two terms on its edges into L (the multi-path chain rule), shown on the edges and in the
    details panel."""
    x1, x2 = ag.Scalar(2.0, label="x1"), ag.Scalar(-1.0, label="x2")
    w1, w2, b = ag.Scalar(-0.5, label="w1"), ag.Scalar(0.3, label="w2"), ag.Scalar(0.8, label="b")
    t = ag.Scalar(0.5, label="t")
    d = (x1 * w1 + x2 * w2 + b).tanh() - t
    d.label = "d"
    L = d * d
    L.label = "L"
    from selenium.webdriver.common.keys import Keys

    explorer = ag.explore(L, title="L = d², d = tanh(x1 w1 + x2 w2 + b) − t")
    steps = explorer.steps
    browser = Browser()
    with tempfile.TemporaryDirectory() as folder:
        page = explorer.save(os.path.join(folder, "explorer.html"))
        try:
            browser.viewport(1280, 640)
            driver = browser.open(page)
            graph = driver.find_element("id", "cr-graph")  # keys, not clicks: no button is left hovered
            graph.send_keys(Keys.END)  # the forward pass
            while driver.find_element("id", "cr-app").get_attribute("data-current") != steps[-2]:  # d: L's input
                graph.send_keys(Keys.ARROW_LEFT)
            graph.send_keys("c")  # d in the middle, at full size
            time.sleep(0.5)  # the page's transitions (fading, the progress bar) are over
            driver.save_screenshot(path)
        finally:
            browser.close()
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    written = [
        scalar_neuron(os.path.join(OUT, "scalar_neuron.svg")),
        mlp_training_step(os.path.join(OUT, "mlp_training_step.svg")),
        deep_mlp(os.path.join(OUT, "deep_mlp_sigmoid.svg"), nn.Sigmoid),
        deep_mlp(os.path.join(OUT, "deep_mlp_relu.svg"), nn.ReLU),
    ]
    if find_browser() is None:
        print(f"skipped docs/images/backprop_explorer.png: {INSTALL_HINT}")
    else:
        written.append(explorer_screenshot(os.path.join(OUT, "backprop_explorer.png")))
    for path in written:
        print(os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
