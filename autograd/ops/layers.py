"""The layers every network is made of, each one node: linear (x W^T + b), embedding lookup, and
dropout's mask.

Every tensor they read (embedding indices included) is an input of the node, so
``ag.Graph(loss).forward(feeds)`` can feed new values, and ``dropout_mask`` draws a fresh mask every
time the graph is evaluated again.
"""

from __future__ import annotations

import numpy as np

from ..random import generator as draw
from . import LINEAR, defop, fn

# -- linear (one node for x W^T + b: the layer every network is made of) ---------------------------


def _linear(x, w, b):
    out = np.matmul(x, w.T)
    out += b  # out is a fresh array: add the bias in place
    return out


def _linear_grad_w(g, out, x, w, b):
    if x.ndim == 2:
        return g.T @ x  # (the common case; .T is a transpose for ndarrays and Tensors alike)
    if x.ndim == 1:
        return fn.expand_dims(g, -1) * x  # (out, 1) * (in,): the outer product g x^T
    g2 = g.reshape(-1, g.shape[-1])
    return fn.swapaxes(g2, 0, 1) @ x.reshape(-1, x.shape[-1])  # sum over every leading dim of g^T x


def _linear_grad_b(g, out, x, w, b):
    if g.ndim == 1:
        return g
    return g.sum(axis=tuple(range(g.ndim - 1)))  # a new array: the sum over every leading dim


def _linear_layer_jvp(tangents, out, x, w, b):
    # d(x W^T + b) = dx W^T + x dW^T + db
    tx, tw, tb = tangents
    total = None
    for term in (
        None if tx is None else tx @ w.T,
        None if tw is None else x @ tw.T,
        None if tb is None else fn.broadcast_to(tb, out.shape),
    ):
        if term is not None:
            total = term if total is None else total + term
    return total


defop(
    "linear",
    _linear,
    lambda g, out, x, w, b: g @ w,
    _linear_grad_w,
    _linear_grad_b,
    jvp=_linear_layer_jvp,
    doc="y = x W^T + b: dx = g W, dW = g^T x (summed over leading dims), db = g summed over leading dims",
)

# -- dropout ---------------------------------------------------------------------------------------


def _dropout_mask(x, *, p, generator=None):
    if p == 1:  # every unit dropped (torch allows p = 1): no survivors to scale by 1 / 0
        return np.zeros(x.shape, x.dtype)
    keep = draw(generator).random(x.shape) >= p
    return keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))


defop(
    "dropout_mask",
    _dropout_mask,
    None,
    doc="m_i = [u_i >= p] / (1 - p), u_i ~ U[0, 1) (from the default generator or generator=): inverted "
    "dropout's scaled keep-mask (no gradient; recorded so that Graph.forward draws a new mask each evaluation)",
)

# -- embedding -------------------------------------------------------------------------------------


def _embedding(weight, idx, *, padding_idx):
    return np.take(weight, idx, axis=0)


def _embedding_grad(g, out, weight, idx, *, padding_idx):
    ids = fn.const(idx).reshape(-1)
    rows, dim = weight.shape
    if isinstance(g, np.ndarray):
        grad = np.zeros((rows, dim), dtype=g.dtype)
        np.add.at(grad, ids, g.reshape(-1, dim))  # a row used twice gets both gradients
        if padding_idx is not None:
            grad[padding_idx] = 0  # the padding row's vector is never trained
        return grad
    # create_graph: the same sum written as a recorded product, dW = onehot(ids)^T g
    onehot = (np.arange(rows)[:, None] == ids[None, :]).astype(fn.const(g).dtype)
    if padding_idx is not None:
        onehot[padding_idx] = 0
    return onehot @ g.reshape(ids.size, dim)


defop(
    "embedding",
    _embedding,
    _embedding_grad,
    None,
    jvp=LINEAR,
    doc="out[...] = x[idx[...]] (x the weight): dx[k] = sum of g over the positions where idx == k (0 for padding_idx)",
)
