"""no_grad / enable_grad / set_grad_enabled / is_grad_enabled: nesting, decorators, threads."""
import threading

import numpy as np
import pytest

import autograd as ag


def test_default_is_enabled():
    assert ag.is_grad_enabled() is True


def test_no_grad_results_do_not_require_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.no_grad():
        assert ag.is_grad_enabled() is False
        y = x * 2.0 + x
        assert not y.requires_grad
        assert y.grad_fn is None
        assert y.is_leaf
    assert ag.is_grad_enabled() is True
    z = x * 2.0
    assert z.requires_grad and z.grad_fn is not None


def test_enable_grad_inside_no_grad_and_nesting_restores():
    x = ag.tensor([1.0], requires_grad=True)
    with ag.no_grad():
        with ag.enable_grad():
            assert ag.is_grad_enabled()
            y = x * 3.0
            with ag.no_grad():
                assert not ag.is_grad_enabled()
            assert ag.is_grad_enabled()
        assert not ag.is_grad_enabled()
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0])


def test_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with ag.no_grad():
            1 / 0
    assert ag.is_grad_enabled()


def test_set_grad_enabled():
    with ag.set_grad_enabled(False):
        assert not ag.is_grad_enabled()
        with ag.set_grad_enabled(True):
            assert ag.is_grad_enabled()
    assert ag.is_grad_enabled()


def test_decorators():
    x = ag.tensor([1.0, 2.0], requires_grad=True)

    @ag.no_grad()
    def frozen(t):
        """doc kept"""
        assert not ag.is_grad_enabled()
        return t * 2.0

    @ag.enable_grad()
    def recorded(t):
        return t * 2.0

    @ag.set_grad_enabled(False)
    def off(t):
        return t * 2.0

    assert frozen.__doc__ == "doc kept" and frozen.__name__ == "frozen"
    assert not frozen(x).requires_grad
    assert ag.is_grad_enabled()
    with ag.no_grad():
        assert recorded(x).requires_grad
        assert not ag.is_grad_enabled()
    assert not off(x).requires_grad
    # a decorated function can be called repeatedly and recursively
    assert not frozen(x).requires_grad and not frozen(frozen(x)).requires_grad
    assert ag.is_grad_enabled()


def test_decorator_restores_mode_on_exception():
    @ag.no_grad()
    def boom():
        raise ValueError("x")

    with pytest.raises(ValueError):
        boom()
    assert ag.is_grad_enabled()


def test_mode_is_per_thread():
    """A thread's no_grad does not leak into another thread, in either direction."""
    seen = {}
    entered = threading.Event()
    release = threading.Event()

    def holder():
        with ag.no_grad():
            seen["holder_inside"] = ag.is_grad_enabled()
            entered.set()
            release.wait(5)
        seen["holder_after"] = ag.is_grad_enabled()

    def other():
        x = ag.tensor([1.0], requires_grad=True)
        seen["other"] = ag.is_grad_enabled()
        seen["other_records"] = (x * 2.0).requires_grad

    t1 = threading.Thread(target=holder)
    t1.start()
    assert entered.wait(5)
    assert ag.is_grad_enabled()  # the main thread is unaffected by holder's no_grad
    t2 = threading.Thread(target=other)
    t2.start()
    t2.join(5)
    release.set()
    t1.join(5)
    assert seen == {"holder_inside": False, "holder_after": True, "other": True, "other_records": True}

    # the main thread's no_grad does not reach a thread started inside it: new threads record
    with ag.no_grad():
        t3 = threading.Thread(target=other)
        t3.start()
        t3.join(5)
        assert not ag.is_grad_enabled()
    assert seen["other"] is True and seen["other_records"] is True


def test_backward_inside_no_grad_still_computes_gradients():
    # as in torch: no_grad stops recording, it does not stop a backward through a recorded graph
    x = ag.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    with ag.no_grad():
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0])


def test_concurrent_backward_does_not_switch_recording_off_in_another_thread():
    """backward runs with recording off (unless create_graph) in its own thread only: a thread that
    builds graphs meanwhile keeps recording, and both threads get exact gradients."""
    errors = []
    stop = threading.Event()

    def builder():
        try:
            for _ in range(300):
                x = ag.tensor([1.0, 2.0], requires_grad=True)
                y = (x * x).sum()
                if not y.requires_grad:
                    errors.append("builder saw recording switched off")
                    return
                y.backward()
                if x.grad.tolist() != [2.0, 4.0]:
                    errors.append(f"builder got {x.grad.tolist()}")
                    return
        finally:
            stop.set()

    def backwarder():
        while not stop.is_set():
            w = ag.tensor([3.0], requires_grad=True)
            h = w
            for _ in range(50):
                h = h * 1.0
            h.sum().backward()
            if w.grad.tolist() != [1.0]:
                errors.append(f"backwarder got {w.grad.tolist()}")
                return
            with ag.no_grad():
                w * 2.0

    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so the two interleave
    try:
        threads = [threading.Thread(target=builder), threading.Thread(target=backwarder)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
