"""The explorer's page in a real headless Chromium (Debian's, driven by Selenium).

Each page is written by ag.save_html and opened from a file. The tests drive it as a reader does
(its buttons, keys, search box and module list) and read what it shows: the status line, the
highlighted node, the details panel and the terms written on the edges. They check that the page
loads without a console error or warning and makes no request, that stepping visits every node
in topological order forwards and in reverse backwards, and that at every node of the backward
pass the terms shown on its outgoing edges add up to the gradient shown for it, which equals the
gradient the engine computes (``.grad`` after ``backward()``, with ``retain_grad()`` on every
intermediate tensor). Screenshots go to out/explorer/.
"""
from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

pytest.importorskip("selenium")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

STATE = """
var app = document.getElementById('cr-app');
return {status: document.getElementById('cr-status').textContent, current: app.getAttribute('data-current'),
        phase: app.getAttribute('data-phase'), step: +app.getAttribute('data-step'),
        highlighted: Array.from(document.querySelectorAll('#cr-svg g.node.cr-current'))
                          .map(function (g) { return g.getAttribute('data-node-id'); }),
        details: document.getElementById('cr-details').getAttribute('data-node-id')};
"""

# What the page shows at the current node of the backward pass: its gradient (the number or
# values, and the text) in the details panel, the terms listed there, and the terms written on
# the drawing's edges out of it (visible text and exact value).
SHOWN = """
var u = arguments[0], det = document.getElementById('cr-details');
var grad = det.querySelector('.cr-grad-value');
var listed = Array.from(det.querySelectorAll('ul.cr-sum-terms li.cr-term')).map(function (li) {
  return JSON.parse(li.getAttribute('data-value')); });
var drawn = Array.from(document.querySelectorAll('#cr-svg g.edge[data-tail="' + u + '"]')).map(function (e) {
  var label = document.querySelector('#cr-svg .cr-contrib[data-edge-id="' + e.getAttribute('data-edge-id') + '"]');
  if (!label) return null;
  return {text: label.textContent, value: JSON.parse(label.getAttribute('data-value')),
          shown: getComputedStyle(label).display !== 'none' && label.getBBox().width > 0,
          summing: label.classList.contains('cr-summing')};
});
return {grad: grad ? JSON.parse(grad.getAttribute('data-value')) : null, gradText: grad ? grad.textContent : '',
        listed: listed, drawn: drawn, ok: !!det.querySelector('.cr-ok'), bad: !!det.querySelector('.cr-bad')};
"""


def _neuron():
    x1, x2 = ag.Scalar(2.0, label="x1"), ag.Scalar(-1.0, label="x2")
    w1, w2, b = ag.Scalar(-0.5, label="w1"), ag.Scalar(0.3, label="w2"), ag.Scalar(0.8, label="b")
    t = ag.Scalar(0.5, label="t")
    d = (x1 * w1 + x2 * w2 + x1 * b).tanh() - t
    d.label = "d"
    L = d * d
    L.label = "L"
    return L


def _shared_tensors():
    x = ag.tensor([[0.5, -1.0, 2.0]], dtype=ag.float64, requires_grad=True)
    W = ag.tensor([[0.2, -0.3, 0.4], [1.0, 0.5, -0.6]], dtype=ag.float64, requires_grad=True)
    h = W * x
    s = h.tanh()
    y = ((s * h + s) * x).sum() + (x * x).sum()
    return y, {"x": x, "W": W}


def _mlp_step():
    ag.manual_seed(0)
    model = nn.MLP([4, 6, 3], batch_norm=True)
    loss = F.cross_entropy(model(ag.randn(5, 4)), ag.randint(0, 3, (5,)))
    return loss, model


def _open(browser, path):
    driver = browser.open(path)
    driver.find_element(By.ID, "cr-status")
    return driver


def _clean(browser, path):
    """No console message of level warning or error, and no request but the page itself."""
    errors = browser.console_errors()
    assert not errors, f"console: {errors}"
    requests = [u for u in browser.requests() if u != f"file://{path}"]
    assert not requests, f"the page asked for {requests}"


def _click(driver, button):
    driver.find_element(By.ID, button).click()
    return driver.execute_script(STATE)


def _number(text):
    return float(text.replace("\u03a3", "").replace("\u2212", "-").split("(")[0].strip())


def _step_through(driver, order, engine_grad):
    """Both passes, one click a step: the visited nodes and, at each backward step, what the page
    shows against the engine. Returns how many nodes showed a sum of several terms."""
    n = len(order)
    state = _click(driver, "cr-reset")
    assert state["phase"] == "ready" and state["current"] == "" and state["status"].startswith(f"ready: {n} nodes")
    visited = []
    for k in range(1, n + 1):
        state = _click(driver, "cr-step-forward")
        assert state["status"].startswith(f"forward {k} / {n}: "), state
        assert state["current"] in state["highlighted"] and state["details"] == state["current"]
        visited.append(state["current"])
    assert visited == order  # topological order
    assert _click(driver, "cr-step-forward")["step"] == n  # the forward pass is over

    visited, multi = [], 0
    for k in range(1, n + 1):
        state = _click(driver, "cr-step-backward")
        u = state["current"]
        assert state["status"].startswith(f"backward {k} / {n}: ") and u in state["highlighted"], state
        visited.append(u)
        want = engine_grad(u)
        shown = driver.execute_script(SHOWN, u)
        if want is None:
            assert shown["grad"] is None
            continue
        terms = [d for d in shown["drawn"] if d is not None]
        assert all(d["shown"] and d["summing"] for d in terms), (u, terms)
        values = [np.asarray(d["value"], dtype=float) for d in terms]
        seed = 1.0 if k == 1 else 0.0  # the output's own gradient, d out / d out
        np.testing.assert_allclose(sum(values) + seed, np.asarray(shown["grad"], dtype=float), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(np.asarray(shown["grad"], dtype=float), want, rtol=1e-6, atol=1e-9, err_msg=u)
        assert sorted(np.ravel(shown["listed"]).tolist()) == pytest.approx(
            sorted(np.ravel(values).tolist() + ([seed] if seed else [])), rel=1e-9)
        assert shown["ok"] and not shown["bad"]
        # the numbers written on the edges (4 significant digits) add up to the one in the panel
        written = sum(_number(d["text"]) for d in terms) + seed
        total = float(np.sum(want))
        assert written == pytest.approx(total, rel=2e-3, abs=2e-3 * max(1.0, len(terms))), (u, terms, total)
        multi += len(terms) > 1
    assert visited == order[::-1]
    assert _click(driver, "cr-step-backward")["step"] == 2 * n
    return multi


def test_scalar_page_steps_in_order_and_its_terms_add_up(browser, tmp_path, screenshots):
    L = _neuron()
    L.backward()  # the engine's gradients, to compare with what the page shows
    nodes = ag.toposort([L])
    path = ag.save_html(L, tmp_path / "neuron.html", title="a neuron with a squared loss")
    driver = _open(browser, path)
    _clean(browser, path)
    drawn = driver.find_elements(By.CSS_SELECTOR, "#cr-svg [data-node-id]")
    assert len(drawn) == len(nodes) + sum(1 for n in nodes if n._inputs)
    multi = _step_through(driver, [f"n{i}" for i in range(len(nodes))], lambda u: nodes[int(u[1:])].grad)
    assert multi >= 2  # d (squared) and x1 (two products)
    for button in ("cr-undo",) * 3:  # back into the middle of the backward pass for the picture
        _click(driver, button)
    driver.save_screenshot(str(screenshots / "scalar_neuron_backward.png"))
    _clean(browser, path)


def test_tensor_page_with_shared_subexpressions_adds_up_element_by_element(browser, tmp_path, screenshots):
    y, leaves = _shared_tensors()
    nodes = ag.toposort([y])
    for n in nodes:
        if n.requires_grad and not n.is_leaf:
            n.retain_grad()
    y.backward()
    path = ag.save_html(y, tmp_path / "shared.html", params=leaves)
    driver = _open(browser, path)
    _clean(browser, path)

    def engine_grad(u):
        n = nodes[int(u[1:])]
        return None if n.grad is None else n.grad.numpy().ravel()

    assert _step_through(driver, [f"n{i}" for i in range(len(nodes))], engine_grad) >= 3  # x, h and s
    driver.save_screenshot(str(screenshots / "tensor_shared_done.png"))
    # clicking a node shows it: x, its gradient the sum of four terms (W * x, u * x and x * x twice)
    x_id = next(u for u, n in json.loads(driver.execute_script(
        "return JSON.stringify(window.chainruleExplorer.data.nodes)")).items() if n["name"] == "x")
    driver.find_element(By.CSS_SELECTOR, f'#cr-svg g.node[data-node-id="{x_id}"]').click()
    details = driver.find_element(By.ID, "cr-details")
    assert details.get_attribute("data-node-id") == x_id and "\u03a3 of 4 terms" in details.text
    np.testing.assert_allclose(driver.execute_script(SHOWN, x_id)["grad"], leaves["x"].grad.numpy().ravel())
    _clean(browser, path)


def test_modules_search_keys_and_play(browser, tmp_path, screenshots):
    loss, model = _mlp_step()
    nodes = ag.toposort([loss])
    path = ag.save_html(loss, tmp_path / "mlp.html", params=dict(model.named_parameters()), color_by="grad_norm")
    driver = _open(browser, path)
    _clean(browser, path)
    n = len(nodes)

    # a module collapses into a box (its nodes hidden) and expands again
    hidden = "return Array.from(document.querySelectorAll('#cr-svg g.node.cr-in-collapsed')).length"
    assert driver.execute_script(hidden) == 0
    driver.find_element(By.CSS_SELECTOR, '#cr-modules button[data-cluster="MLP.1"]').click()
    inside = driver.execute_script("return window.chainruleExplorer.data.clusters.filter("
                                   "function (c) { return c.path === 'MLP.1'; })[0].units.length")
    assert inside > 3 and driver.execute_script(hidden) == inside
    cover = driver.find_element(By.CSS_SELECTOR, '#cr-svg .cr-cover[data-cover="MLP.1"]')
    driver.save_screenshot(str(screenshots / "mlp_module_collapsed.png"))
    assert "MLP.1" in cover.get_attribute("textContent")
    cover.click()
    assert driver.execute_script(hidden) == 0
    assert not driver.find_elements(By.CSS_SELECTOR, "#cr-svg .cr-cover")

    # search by name: the weights of the linear layers and of batch norm
    weights = sum("weight" in name for name, _ in model.named_parameters())
    box = driver.find_element(By.ID, "cr-search")
    box.send_keys("weight")
    assert driver.find_element(By.ID, "cr-search-count").text == f"{weights} matches"
    marked = driver.find_elements(By.CSS_SELECTOR, "#cr-svg g.node.cr-match")
    assert len(marked) == weights == 3
    box.send_keys(Keys.ENTER)
    selected = driver.find_element(By.ID, "cr-app").get_attribute("data-selected")
    assert "weight" in driver.find_element(By.ID, "cr-details").text and selected.startswith("n")
    box.send_keys(Keys.ESCAPE)
    assert not driver.find_elements(By.CSS_SELECTOR, "#cr-svg g.node.cr-match")

    # keys: → a forward step, ← a backward step (finishing the forward pass first), Backspace undoes
    page = driver.find_element(By.TAG_NAME, "body")
    page.send_keys(Keys.HOME)
    page.send_keys(Keys.ARROW_RIGHT)
    assert driver.execute_script(STATE)["status"].startswith(f"forward 1 / {n}: ")
    page.send_keys(Keys.ARROW_LEFT)
    state = driver.execute_script(STATE)
    assert state["status"] == f"backward 1 / {n}: nll_loss" and state["current"] == f"n{n - 1}"
    page.send_keys(Keys.BACKSPACE)
    assert driver.execute_script(STATE)["status"].startswith(f"forward {n} / {n}: nll_loss")

    # play at the fastest speed runs both passes to the end, then stops
    for _ in range(10):
        page.send_keys("+")
    page.send_keys(Keys.HOME)
    _click(driver, "cr-play")
    deadline = time.time() + 30
    while driver.execute_script(STATE)["step"] < 2 * n and time.time() < deadline:
        time.sleep(0.1)
    assert driver.execute_script(STATE)["step"] == 2 * n
    assert driver.find_element(By.ID, "cr-play").text.endswith("play")  # stopped by itself
    grads = driver.find_elements(By.CSS_SELECTOR, "#cr-svg .cr-contrib")
    assert len(grads) == sum(1 for n_ in nodes for i in n_._inputs if i.requires_grad)
    driver.save_screenshot(str(screenshots / "mlp_step_done.png"))
    _clean(browser, path)


def test_a_large_graph_starts_collapsed_and_still_steps(browser, tmp_path, screenshots):
    ag.manual_seed(0)
    model = nn.MLP([8] + [8] * 12 + [2], batch_norm=True)
    loss = F.cross_entropy(model(ag.randn(4, 8)), ag.randint(0, 2, (4,)))
    path = ag.save_html(loss, tmp_path / "deep.html", params=dict(model.named_parameters()), max_nodes=60)
    driver = _open(browser, path)
    _clean(browser, path)
    covers = driver.find_elements(By.CSS_SELECTOR, "#cr-svg .cr-cover")
    assert len(covers) >= 10
    driver.find_element(By.ID, "cr-step-forward").click()
    state = driver.execute_script(STATE)
    assert state["status"].startswith("forward 1 / ")
    for _ in range(3):
        driver.find_element(By.ID, "cr-step-forward").click()
    assert "collapsed)" in driver.execute_script(STATE)["status"]  # a node inside a collapsed module
    assert driver.find_elements(By.CSS_SELECTOR, "#cr-svg .cr-cover.cr-current")
    driver.find_element(By.ID, "cr-fit").click()
    driver.save_screenshot(str(screenshots / "deep_mlp_collapsed.png"))
    _clean(browser, path)


def test_the_notebook_block_runs_the_page_in_an_iframe(browser, tmp_path):
    L = _neuron()
    block = ag.explore(L)._repr_html_()
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>nb</title></head><body>"
                    f"<div class='output'>{block}</div></body></html>")
    driver = _open_plain(browser, str(path))
    assert not driver.find_element(By.CSS_SELECTOR, ".chainrule-explorer-static").is_displayed()
    frame = driver.find_element(By.CSS_SELECTOR, ".chainrule-explorer iframe")
    assert frame.size["height"] == 640
    driver.switch_to.frame(frame)
    try:
        driver.find_element(By.ID, "cr-step-forward").click()
        assert driver.find_element(By.ID, "cr-status").text.startswith("forward 1 / ")
    finally:
        driver.switch_to.default_content()
    _clean(browser, str(path))


def _open_plain(browser, path):
    driver = browser.open(path)
    driver.find_element(By.TAG_NAME, "body")
    return driver


def test_the_status_names_the_operation(browser, tmp_path):
    """The contract's example: 'backward 3 / 17: mul' (a Tensor operation by its name)."""
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    path = ag.save_html(y, tmp_path / "mul.html")
    driver = _open(browser, path)
    statuses = [_click(driver, "cr-step-backward")["status"] for _ in range(3)]
    assert statuses == ["backward 1 / 3: sum", "backward 2 / 3: mul", "backward 3 / 3: leaf"]
    assert re.search(r"\u03a3 of 2 terms", driver.find_element(By.ID, "cr-details").text)
    _clean(browser, path)


def test_nan_gradients_are_shown_and_still_add_up(browser, tmp_path):
    b = ag.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = (b.log() * 0.0).sum()  # d/db log b at 0 is 0 / 0: NaN
        path = ag.save_html(y, tmp_path / "nan.html", params={"b": b})
    driver = _open(browser, path)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.END)  # the forward pass at once
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.END)  # and the backward pass
    assert driver.execute_script(STATE)["status"].startswith("backward 4 / 4: b")
    details = driver.find_element(By.ID, "cr-details")
    assert "1 NaN" in details.text and driver.find_elements(By.CSS_SELECTOR, "#cr-details .cr-ok")
    assert driver.execute_script(SHOWN, "n0")["grad"][0] == "nan"
    _clean(browser, path)
