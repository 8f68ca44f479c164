"""Attention as functions: scaled_dot_product_attention and multi_head_attention_forward.

Both are compositions of table operations (matrix products, softmax, masked_fill, dropout), so
their gradients of any order come from the table:

    attention(Q, K, V) = softmax(Q K^T scale + bias) V,   scale = 1 / sqrt(E) by default

where the bias is -inf at the masked positions (or a float mask added as it is).
"""

from __future__ import annotations

import math

import numpy as np

from autograd import Tensor, cat, zeros
from autograd.extend import leaf

from .common import _t
from .layers import dropout, linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _bias_from_mask(mask, dtype, allowed_when_true):
    """A float mask as it is; a bool mask as 0 where attending is allowed and -inf elsewhere."""
    mask = _t(mask, "attn_mask")
    if mask.dtype == np.bool_:
        blocked = ~mask.data if allowed_when_true else mask.data
        return leaf(np.where(blocked, -np.inf, 0.0).astype(dtype))
    if mask.dtype.kind != "f":
        raise TypeError(f"attention masks must be bool or floating, got dtype {mask.dtype}")
    return mask.to(dtype) if mask.dtype != dtype else mask


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q K^T scale + bias) V over the last two dimensions (..., L, E), (..., S, E), (..., S, Ev).

    ``attn_mask``: bool (True = may attend, as torch's SDPA) or float (added to the scores);
    ``is_causal``: position i attends to positions j <= i; ``enable_gqa``: key and value have fewer
    heads (dimension -3) than the query, each shared by a group of query heads."""
    q, k, v = _t(query, "query"), _t(key, "key"), _t(value, "value")
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError(
            f"scaled_dot_product_attention: query, key and value need at least 2 dimensions (..., L, "
            f"E), got shapes {list(q.shape)}, {list(k.shape)} and {list(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: query {list(q.shape)}, key {list(k.shape)} and value "
            f"{list(v.shape)} do not fit: query and key need one embedding size (last dimension), key "
            f"and value one sequence length (dimension -2)"
        )
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        if q.shape[-3] % k.shape[-3]:
            raise RuntimeError(
                f"scaled_dot_product_attention: with enable_gqa the query's {q.shape[-3]} heads must be "
                f"a multiple of the key's {k.shape[-3]}"
            )
        groups = q.shape[-3] // k.shape[-3]
        k, v = _repeat_heads(k, groups), _repeat_heads(v, groups)
    L, S = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q @ k.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: pass attn_mask or is_causal=True, not both")
        causal = np.tril(np.ones((L, S), dtype=bool))
        scores = scores + _bias_from_mask(causal, scores.dtype, allowed_when_true=True)
    elif attn_mask is not None:
        scores = scores + _bias_from_mask(attn_mask, scores.dtype, allowed_when_true=True)
    weights = scores.softmax(dim=-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ v


def _repeat_heads(t, groups):
    """t (..., H, S, E) with each head repeated ``groups`` times in a row (torch's repeat_interleave)."""
    lead, (heads, s, e) = tuple(t.shape[:-3]), tuple(t.shape[-3:])
    return t.unsqueeze(-3).expand(*lead, heads, groups, s, e).reshape(lead + (heads * groups, s, e))


def _check_key_padding_mask(mask, bsz, src_len):
    if tuple(mask.shape) != (bsz, src_len):
        raise RuntimeError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got {tuple(mask.shape)}")


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    average_attn_weights: bool = True,
):
    """torch's multi-head attention on (L, N, E) query and (S, N, E) key / value (or unbatched (L, E)):

        head_i = attention(Q W_q,i, K W_k,i, V W_v,i),  out = concat(head_1..head_H) W_o^T + b_o

    with masks as torch: a bool mask blocks where True, a float mask is added to the scores.
    Returns (output (L, N, E), attention weights (N, L, S) averaged over the heads, (N, H, L, S)
    if not ``average_attn_weights``, or None if not ``need_weights``)."""
    q_in, k_in, v_in = _t(query, "query"), _t(key, "key"), _t(value, "value")
    batched = q_in.ndim == 3
    if q_in.ndim not in (2, 3) or k_in.ndim != q_in.ndim or v_in.ndim != q_in.ndim:
        raise AssertionError(
            f"query, key and value should all be 2-D (unbatched) or 3-D (batched), got shapes "
            f"{list(q_in.shape)}, {list(k_in.shape)} and {list(v_in.shape)}"
        )
    if not batched:
        q_in, k_in, v_in = q_in.unsqueeze(1), k_in.unsqueeze(1), v_in.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = _t(key_padding_mask, "key_padding_mask").unsqueeze(0)
    tgt_len, bsz, embed_dim = q_in.shape
    src_len = k_in.shape[0]
    head_dim = embed_dim // num_heads
    if k_in.shape[:2] != v_in.shape[:2]:
        raise AssertionError(
            f"key's sequence and batch dims {tuple(k_in.shape[:2])} do not match value's {tuple(v_in.shape[:2])}"
        )
    if in_proj_weight is not None:
        w_q, w_k, w_v = in_proj_weight.chunk(3)
    else:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(
                "multi_head_attention_forward: without in_proj_weight, give q_proj_weight, "
                "k_proj_weight and v_proj_weight (torch's use_separate_proj_weight)"
            )
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
    q, k, v = linear(q_in, w_q, b_q), linear(k_in, w_k, b_k), linear(v_in, w_v, b_v)

    dtype = q.dtype
    mask = None
    if attn_mask is not None:
        mask = _bias_from_mask(attn_mask, dtype, allowed_when_true=False)
        if mask.ndim == 2:
            if tuple(mask.shape) != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {tuple(mask.shape)}, but should be {(tgt_len, src_len)}."
                )
            mask = mask.unsqueeze(0)
        elif mask.ndim == 3:
            if tuple(mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {tuple(mask.shape)}, but should be "
                    f"{(bsz * num_heads, tgt_len, src_len)}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {mask.ndim} is not supported")
    padding = None if key_padding_mask is None else _bias_from_mask(key_padding_mask, dtype, allowed_when_true=False)
    if bias_k is not None and bias_v is not None:
        k = _append_row(k, bias_k, bsz)
        v = _append_row(v, bias_v, bsz)
        mask = None if mask is None else _pad_last(mask)
        padding = None if padding is None else _pad_last(padding)

    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if add_zero_attn:
        k = cat([k, zeros(bsz * num_heads, 1, head_dim, dtype=dtype)], dim=1)
        v = cat([v, zeros(bsz * num_heads, 1, head_dim, dtype=dtype)], dim=1)
        mask = None if mask is None else _pad_last(mask)
        padding = None if padding is None else _pad_last(padding)
    src_len = k.shape[1]
    if padding is not None:
        _check_key_padding_mask(padding, bsz, src_len)
        padding = padding.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        padding = padding.reshape(bsz * num_heads, 1, src_len)
        mask = padding if mask is None else mask + padding
    if not training:
        dropout_p = 0.0

    scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores + mask
    weights = scores.softmax(dim=-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True)
    out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(dim=1)
    if not batched:
        weights = weights.squeeze(0)
    return out, weights


def _append_row(t, row, bsz):
    """t (S, N, E) with ``row`` (1, 1, E) appended as a last position for every batch element."""
    return cat([t, row.expand(1, bsz, row.shape[-1])], dim=0)


def _pad_last(mask):
    """A float mask with a zero column appended (the extra key position may be attended)."""
    return cat([mask, zeros(*mask.shape[:-1], 1, dtype=mask.dtype)], dim=-1)
