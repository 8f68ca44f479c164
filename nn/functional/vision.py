"""Padding and resampling as functions: pad, interpolate (upsample), pixel_shuffle, pixel_unshuffle.

Constant padding is the table's ``pad`` entry; reflect, replicate and circular padding gather each
padded dimension with a constant index (``index_select``, whose gradient adds each position's
copies back). Interpolation is separable: nearest gathers an index per dimension, the linear modes
multiply each dimension by a constant interpolation matrix (two weights a row), so every mode is a
composition of linear operations with known derivatives.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from autograd import Tensor
from autograd.extend import apply, leaf

from .common import _t
from .conv import _is_int
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["pad", "interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle"]

_MODES = ("constant", "reflect", "replicate", "circular")


# -- padding --------------------------------------------------------------------------------------


def _source_index(n, lo, hi, mode):
    """For each position of a dimension of size n padded by (lo, hi), the position it copies."""
    i = np.arange(-lo, n + hi)
    if mode == "reflect":
        period = 2 * (n - 1)
        i = np.abs(i) % period if period else np.zeros_like(i)
        return np.where(i >= n, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    return i % n  # circular


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 dimensions: ``pad`` = (left, right) for the last dimension, then
    (top, bottom) for the one before, and so on, as torch. ``mode``: 'constant' (``value``, default
    0; negative widths crop), 'reflect' (mirrored without repeating the edge), 'replicate' (the edge
    repeated) or 'circular' (wrapped around)."""
    x = _t(input)
    pad = tuple(pad)
    if not all(_is_int(p) for p in pad):
        raise TypeError(f"pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2 (got pad={list(pad)})")
    if len(pad) // 2 > x.ndim:
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(pad)} and input of dimension {x.ndim}"
        )
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode} (use one of {', '.join(_MODES)})")
    nd = len(pad) // 2
    widths = tuple((int(pad[2 * i]), int(pad[2 * i + 1])) for i in reversed(range(nd)))
    dims = x.shape[x.ndim - nd :]
    for i, (n, (lo, hi)) in enumerate(zip(dims, widths)):
        if n + lo + hi < 0:
            raise RuntimeError(
                f"The input size {n}, plus negative padding {lo} and {hi} resulted in a negative "
                f"output size, which is invalid. Check dimension {x.ndim - nd + i} of your input."
            )
    if mode == "constant":
        return apply("pad", x, widths=widths, value=0.0 if value is None else float(value))
    if value is not None and value != 0:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument (got value={value})')
    if not (nd + 1 <= x.ndim <= nd + 2) or nd > 3:
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {x.ndim}D input tensor.\nSupported combinations for "
            f"non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D input: "
            f"padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    for i, (n, (lo, hi)) in enumerate(zip(dims, widths)):
        dim = x.ndim - nd + i
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, but "
                f"got: padding ({lo}, {hi}) at dimension {dim} of input {list(x.shape)}"
            )
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError(
                f"Padding value causes wrapping around more than once: padding ({lo}, {hi}) at "
                f"dimension {dim} of input {list(x.shape)}"
            )
    y = x
    for i, (n, (lo, hi)) in enumerate(zip(dims, widths)):
        if lo < 0 or hi < 0:  # crop first, then pad what is positive
            y = apply("pad", y, widths=((min(lo, 0), min(hi, 0)),) + ((0, 0),) * (nd - 1 - i), value=0.0)
            n, lo, hi = n + min(lo, 0) + min(hi, 0), max(lo, 0), max(hi, 0)
        if lo or hi:
            index = _source_index(n, lo, hi, mode).astype(np.int64)
            y = y.index_select(x.ndim - nd + i, leaf(index))
    return y


# -- interpolation --------------------------------------------------------------------------------

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _output_sizes(x, size, scale_factor, nd):
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "only one of size or scale_factor should be defined"
            if size is not None
            else "either size or scale_factor should be defined"
        )
    if size is not None:
        sizes = (size,) * nd if _is_int(size) else tuple(size)
        if len(sizes) != nd:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got input with "
                f"spatial dimensions of {list(x.shape[2:])} and output size of {tuple(sizes)}. Please "
                f"provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                f"(o1, o2, ...,oK) format."
            )
        return tuple(int(s) for s in sizes), None
    scales = (scale_factor,) * nd if isinstance(scale_factor, numbers.Real) else tuple(scale_factor)
    if len(scales) != nd:
        raise ValueError(
            f"Input and scale_factor must have the same number of spatial dimensions, but got input with "
            f"spatial dimensions of {list(x.shape[2:])} and scale_factor of shape {tuple(scales)}. Please "
            f"provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
            f"format."
        )
    return tuple(math.floor(n * float(s)) for n, s in zip(x.shape[2:], scales)), tuple(float(s) for s in scales)


def _ratio(n, o, scale, dtype):
    """torch's compute_scales_value: 1 / scale_factor when one was given, else in / out."""
    return dtype.type(1.0 / scale) if scale is not None and scale > 0 else dtype.type(n) / dtype.type(o)


def _nearest_index(n, o, scale, exact):
    if o == n and not exact:
        return np.arange(o)
    ratio = _ratio(n, o, scale, np.dtype(np.float32))
    i = np.arange(o, dtype=np.float32)
    src = np.floor((i + np.float32(0.5)) * ratio if exact else i * ratio)
    return np.minimum(src.astype(np.int64), n - 1)


def _linear_matrix(n, o, scale, align_corners, dtype):
    """The (o, n) matrix of linear interpolation along one dimension (two weights a row), as torch."""
    opmath = np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
    i = np.arange(o, dtype=opmath)
    if align_corners:
        ratio = opmath.type(n - 1) / opmath.type(o - 1) if o > 1 else opmath.type(0)
        src = i * ratio
    else:
        src = np.maximum((i + opmath.type(0.5)) * _ratio(n, o, scale, opmath) - opmath.type(0.5), 0)
    i0 = src.astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    w1 = src - i0
    w0 = 1 - w1
    m = np.zeros((o, n), dtype=opmath)
    rows = np.arange(o)
    np.add.at(m, (rows, i0), w0)
    np.add.at(m, (rows, i1), w1)
    return m.astype(dtype)


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dimensions of (N, C, *sp) to ``size`` or by ``scale_factor``, as torch.

    'nearest' (and 'nearest-exact') copy the pixel at floor(i in / out) (or floor((i + 1/2) in / out));
    'linear' / 'bilinear' / 'trilinear' (3-, 4-, 5-D input) weigh the two neighbours of the source
    coordinate (i + 1/2) in / out - 1/2, or i (in - 1) / (out - 1) with ``align_corners``, one
    dimension after another; 'area' is adaptive average pooling. With ``scale_factor`` the source
    coordinates use 1 / scale_factor unless ``recompute_scale_factor``, as torch."""
    x = _t(input)
    nd = x.ndim - 2
    if nd < 1 or nd > 3:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for the "
            f"modes: nearest | linear | bilinear | trilinear | area | nearest-exact "
            f"(got {mode})"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"
        )
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs {_LINEAR[mode] + 2}D input")
    if mode not in _LINEAR and mode not in ("nearest", "nearest-exact", "area"):
        raise NotImplementedError(
            f"Input Error: mode {mode!r} is not supported (use nearest, nearest-exact, linear, "
            f"bilinear, trilinear or area)"
        )
    out, scales = _output_sizes(x, size, scale_factor, nd)
    if recompute_scale_factor:
        scales = None
    if scales is None:
        scales = (None,) * nd
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"interpolate: the output size {list(out)} must be greater than 0 (input size {list(x.shape[2:])})"
        )
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](x, out)
    y = x
    for i, (n, o, s) in enumerate(zip(x.shape[2:], out, scales)):
        dim = 2 + i
        if mode in ("nearest", "nearest-exact"):
            if o != n or mode == "nearest-exact":
                y = y.index_select(dim, leaf(_nearest_index(n, o, s, mode == "nearest-exact")))
            continue
        m = leaf(_linear_matrix(n, o, s, bool(align_corners), x.dtype))
        y = (y.transpose(dim, -1) @ m.T).transpose(dim, -1) if dim != x.ndim - 1 else y @ m.T
    return y


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """interpolate (torch's deprecated name for it)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# -- pixel shuffle --------------------------------------------------------------------------------


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): each group of r^2 channels becomes an r x r block of pixels
    (a reshape and a permutation)."""
    x = _t(input)
    r = int(upscale_factor)
    if x.ndim < 3:
        raise RuntimeError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got input with {x.ndim} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c, h, w = x.shape[-3:]
    if c % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
            f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    lead = x.shape[:-3]
    n = len(lead)
    y = x.reshape(lead + (c // (r * r), r, r, h, w))
    y = y.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return y.reshape(lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of pixel_shuffle: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    x = _t(input)
    r = int(downscale_factor)
    if x.ndim < 3:
        raise RuntimeError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with {x.ndim} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    c, h, w = x.shape[-3:]
    if h % r:
        raise RuntimeError(
            f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
            f"input.size(-2)={h} is not divisible by {r}"
        )
    if w % r:
        raise RuntimeError(
            f"pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)={w} "
            f"is not divisible by {r}"
        )
    lead = x.shape[:-3]
    n = len(lead)
    y = x.reshape(lead + (c, h // r, r, w // r, r))
    y = y.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return y.reshape(lead + (c * r * r, h // r, w // r))
