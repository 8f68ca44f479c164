"""Cases of test_ops.py for convolution, pooling and padding: see op_cases.py for what a case is.

Each case reaches its entry through nn.functional, as users do, with the argument forms torch takes
(ints and tuples, 'same' and 'valid', ceil_mode, output_padding, groups) drawn by hypothesis on
small inputs (gradgradcheck differentiates every element twice).
"""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st
from op_cases import case, normal, rng_of

import nn.functional as F


def _per_dim(d, nd, values):
    """An int or a tuple of nd ints drawn from ``values``."""
    if d(st.booleans()):
        return d(values)
    return tuple(d(values) for _ in range(nd))


def _at(v, i):
    return v[i] if isinstance(v, tuple) else v


def _suffix(nd):
    return f"{nd}d"


# -- convolution ---------------------------------------------------------------------------------------


def _draw_conv(d):
    rng = rng_of(d)
    nd = d(st.sampled_from([1, 2, 2, 3]))
    groups = d(st.sampled_from([1, 1, 2]))
    cin, cout = groups * d(st.integers(1, 2)), groups * d(st.integers(1, 2))
    k = _per_dim(d, nd, st.integers(1, 3))
    dilation = _per_dim(d, nd, st.integers(1, 2))
    mode = d(st.sampled_from(["int", "int", "same", "valid"]))
    stride = 1 if mode == "same" else _per_dim(d, nd, st.integers(1, 2))
    padding = mode if mode in ("same", "valid") else _per_dim(d, nd, st.integers(0, 2))
    side = 5 if nd < 3 else 4
    span = [_at(dilation, i) * (_at(k, i) - 1) + 1 for i in range(nd)]
    sizes = tuple(max(span[i] - (0 if mode != "int" else 2 * _at(padding, i)), d(st.integers(1, side)))
                  for i in range(nd))
    n = d(st.integers(1, 2))
    ks = tuple(_at(k, i) for i in range(nd))
    arrays = [normal(rng, (n, cin) + sizes), normal(rng, (cout, cin // groups) + ks)]
    if d(st.booleans()):
        arrays.append(normal(rng, (cout,)))
    if d(st.booleans()) and nd < 3:  # unbatched
        arrays[0] = arrays[0][0]
    return arrays, {"nd": nd, "stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def _conv(lib):
    def f(x, w, b=None, *, nd, **kw):
        return getattr(lib, "conv" + _suffix(nd))(x, w, b, **kw)
    return f


case("conv")(_draw_conv)(_conv(F), _conv(TF))


def _draw_conv_transpose(d):
    rng = rng_of(d)
    nd = d(st.sampled_from([1, 2, 2, 3]))
    groups = d(st.sampled_from([1, 1, 2]))
    cin, cout = groups * d(st.integers(1, 2)), groups * d(st.integers(1, 2))
    k = tuple(d(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(d(st.integers(1, 2)) for _ in range(nd))
    dilation = tuple(d(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(d(st.integers(0, (dilation[i] * (k[i] - 1)) // 2)) for i in range(nd))
    output_padding = tuple(d(st.integers(0, max(stride[i], dilation[i]) - 1)) for i in range(nd))
    sizes = tuple(d(st.integers(1, 3)) for _ in range(nd))
    arrays = [normal(rng, (d(st.integers(1, 2)), cin) + sizes), normal(rng, (cin, cout // groups) + k)]
    if d(st.booleans()):
        arrays.append(normal(rng, (cout,)))
    return arrays, {"nd": nd, "stride": stride, "padding": padding, "output_padding": output_padding,
                    "groups": groups, "dilation": dilation}


def _conv_transpose(lib):
    def f(x, w, b=None, *, nd, **kw):
        return getattr(lib, "conv_transpose" + _suffix(nd))(x, w, b, **kw)
    return f


case("conv_transpose")(_draw_conv_transpose)(_conv_transpose(F), _conv_transpose(TF))

# -- im2col / col2im ---------------------------------------------------------------------------------


def _window_kw(d):
    k = _per_dim(d, 2, st.integers(1, 3))
    dilation = _per_dim(d, 2, st.integers(1, 2))
    padding = _per_dim(d, 2, st.integers(0, 1))
    stride = _per_dim(d, 2, st.integers(1, 2))
    return {"kernel_size": k, "dilation": dilation, "padding": padding, "stride": stride}


def _min_sizes(kw):
    return [_at(kw["dilation"], i) * (_at(kw["kernel_size"], i) - 1) + 1 - 2 * _at(kw["padding"], i) for i in range(2)]


def _draw_im2col(d):
    rng = rng_of(d)
    kw = _window_kw(d)
    sizes = tuple(max(m, d(st.integers(1, 5))) for m in _min_sizes(kw))
    return [normal(rng, (d(st.integers(1, 2)), d(st.integers(1, 2))) + sizes)], kw


case("im2col")(_draw_im2col)(F.unfold, TF.unfold)


def _draw_col2im(d):
    rng = rng_of(d)
    kw = _window_kw(d)
    size = tuple(max(m, d(st.integers(1, 5))) for m in _min_sizes(kw))
    blocks = [(size[i] + 2 * _at(kw["padding"], i) - _at(kw["dilation"], i) * (_at(kw["kernel_size"], i) - 1) - 1)
              // _at(kw["stride"], i) + 1 for i in range(2)]
    k = _at(kw["kernel_size"], 0) * _at(kw["kernel_size"], 1)
    c = d(st.integers(1, 2))
    return [normal(rng, (d(st.integers(1, 2)), c * k, blocks[0] * blocks[1]))], kw | {"output_size": size}


case("col2im")(_draw_col2im)(F.fold, TF.fold)

# -- pooling -------------------------------------------------------------------------------------------


def _draw_pool(d, with_dilation=True):
    rng = rng_of(d)
    nd = d(st.sampled_from([1, 2, 2, 3]))
    k = _per_dim(d, nd, st.integers(1, 3))
    stride = d(st.one_of(st.none(), st.integers(1, 2)))
    dilation = _per_dim(d, nd, st.integers(1, 2)) if with_dilation else 1
    padding = tuple(d(st.integers(0, _at(k, i) // 2)) for i in range(nd))  # torch: at most half the kernel
    side = 5 if nd < 3 else 4
    sizes = tuple(max(_at(dilation, i) * (_at(k, i) - 1) + 1, d(st.integers(1, side))) for i in range(nd))
    shape = (d(st.integers(1, 2)), d(st.integers(1, 2))) + sizes
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)  # no ties
    kw = {"nd": nd, "kernel_size": k, "stride": stride, "padding": padding, "ceil_mode": d(st.booleans())}
    if with_dilation:
        kw["dilation"] = dilation
    return [x], kw


def _max_pool(lib, indices=False):
    def f(x, *, nd, **kw):
        out = getattr(lib, "max_pool" + _suffix(nd))(x, return_indices=indices, **kw)
        return out[1] if indices else out
    return f


case("max_pool")(_draw_pool)(_max_pool(F), _max_pool(TF))
case("max_pool_indices")(_draw_pool)(_max_pool(F, True), _max_pool(TF, True))


def _draw_unpool(d):
    rng = rng_of(d)
    k = d(st.integers(1, 3))
    n, c, h, w = d(st.integers(1, 2)), d(st.integers(1, 2)), d(st.integers(1, 3)), d(st.integers(1, 3))
    # each value's index lies in its own k x k block: positions never repeat (as max_pool2d's)
    rows = np.arange(h)[:, None] * k + rng.integers(0, k, (n, c, h, w))
    cols = np.arange(w)[None, :] * k + rng.integers(0, k, (n, c, h, w))
    return [normal(rng, (n, c, h, w)), (rows * (w * k) + cols).astype(np.int64)], {"kernel_size": k}


case("max_unpool")(_draw_unpool)(F.max_unpool2d, TF.max_unpool2d)

# -- padding -------------------------------------------------------------------------------------------


def _draw_pad(d):
    rng = rng_of(d)
    shape = (d(st.integers(1, 2)), d(st.integers(1, 3)), d(st.integers(2, 4)), d(st.integers(2, 4)))
    nd = d(st.integers(1, 3))
    pad = tuple(d(st.integers(-1, 2)) for _ in range(2 * nd))
    return [normal(rng, shape)], {"pad": pad, "value": d(st.sampled_from([0.0, 1.5, -2.0]))}


case("pad")(_draw_pad)(lambda x, pad, value: F.pad(x, pad, value=value),
                       lambda x, pad, value: TF.pad(x, pad, value=value))
