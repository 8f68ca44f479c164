"""Random generators: ``ag.Generator`` (torch.Generator's interface around a numpy Generator) and
the default one behind ``ag.rand/randn/randint``, dropout masks, ``nn.init`` and shuffling
DataLoaders, which ``ag.manual_seed`` seeds. Every function that draws takes ``generator=`` to use
another one instead."""

from __future__ import annotations

import weakref

import numpy as np

from .device import check

# every Generator made: ag.checkpoint saves and restores all their states
_LIVE: weakref.WeakSet[Generator] = weakref.WeakSet()


class Generator:
    """A source of random numbers that a caller owns: ``g = ag.Generator().manual_seed(0)`` and then
    ``ag.randn(3, generator=g)``, ``nn.init.normal_(w, generator=g)``, ``F.dropout(x, generator=g)``,
    ``DataLoader(..., generator=g)`` draw from ``g`` and leave the default generator untouched.

    Draws come from numpy's PCG64, so the numbers differ from torch's for the same seed (as they do
    between torch's CPU and CUDA generators); a seed reproduces chainrule's own draws exactly.
    ``get_state()`` and ``set_state()`` save and restore the position in the stream (a dict, where
    torch gives a uint8 tensor)."""

    __slots__ = ("_rng", "_seed", "device", "__weakref__")

    def __init__(self, device="cpu"):
        self.device = check(device, "Generator device")
        self.seed()
        _LIVE.add(self)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (an integer; negative seeds are taken modulo 2**64, as torch
        does); returns the generator, so ``Generator().manual_seed(0)`` reads as one expression."""
        try:
            self._seed = int(seed) % 2**64
        except (TypeError, ValueError):
            raise TypeError(f"manual_seed expected an integer seed, got {seed!r}") from None
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Seed the generator from the operating system's entropy; returns the seed chosen."""
        entropy = np.random.SeedSequence().entropy  # (an int when drawn from the operating system)
        assert isinstance(entropy, int)
        self.manual_seed(entropy % 2**64)
        return self._seed

    def initial_seed(self) -> int:
        """The seed the stream started from (the last ``manual_seed`` or ``seed``)."""
        return self._seed

    def get_state(self) -> dict:
        """The generator's position in its stream, for :meth:`set_state`."""
        return {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}

    def set_state(self, new_state: dict) -> Generator:
        """Go back to a position saved by :meth:`get_state`."""
        if not isinstance(new_state, dict) or set(new_state) != {"seed", "bit_generator"}:
            raise TypeError("set_state expects a state returned by Generator.get_state()")
        self._seed = new_state["seed"]
        self._rng.bit_generator.state = new_state["bit_generator"]
        return self

    @property
    def numpy(self) -> np.random.Generator:
        """The numpy Generator that draws the numbers (for code that samples with numpy directly)."""
        return self._rng

    def __repr__(self):
        return f"<autograd.Generator on {self.device}, initial seed {self._seed}>"


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, behind ag.rand/randn/randint, dropout masks, nn.init and shuffling
    DataLoaders; returns it (as torch.manual_seed does)."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    """The seed the default generator started from."""
    return default_generator.initial_seed()


def seed() -> int:
    """Seed the default generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def generator(gen: Generator | None = None) -> np.random.Generator:
    """The numpy Generator to draw from: ``gen``'s (an ``ag.Generator``), or the default one's."""
    if gen is None:
        return default_generator._rng
    if isinstance(gen, Generator):
        return gen._rng
    raise TypeError(f"generator= expects an ag.Generator (or None for the default one), got {gen.__class__.__name__}")


def save_states() -> list:
    """The stream positions of every live generator (ag.checkpoint's recomputation replays the draws
    of the first run, whichever generators the function drew from)."""
    return [(g, g._rng.bit_generator.state) for g in list(_LIVE)]


def restore_states(states: list) -> None:
    """Put the generators back where :func:`save_states` found them."""
    for g, st in states:
        g._rng.bit_generator.state = st
