"""Cutting a shot of any length into overlapping model clips, and back.

The model sees clips of ``clip`` frames; consecutive clips share ``overlap``
frames (stride = clip - overlap) whose latents are cross-faded with cosine
weights. With the defaults (8, 4) the earlier clip's tail weighs
1, .854, .5, .146 and the later clip's head the complement.

Clip starts lie on a grid of the stride in *shot* frame indices (not in the
order frames happen to arrive), and the temporal VAE decodes fixed chunks of
that grid, so a frame's result does not depend on how the pipeline batches
the stream. Where a clip or chunk runs past either end of what is rendered,
frames are mirrored (reflection without repeating the edge frame: ... 2 1 |
0 1 2 ... n-2 n-1 | n-2 n-3 ...), never zero-padded, so 1-frame shots work.

Latents are accumulated as ``sum(w * y) / sum(w)`` per frame: interior frames
get weights that already sum to one; a frame that turns out to have no later
clip (the end of the stream, unknown until it ends) is normalised by its own
weight, i.e. taken from its only clip unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ClipScheduler", "Decode", "RunClip", "cosine_tail", "mirror"]


def cosine_tail(overlap: int) -> list[float]:
    """Weights of the earlier clip over the overlap: (1 + cos(pi j / overlap)) / 2."""
    return [(1.0 + math.cos(math.pi * j / overlap)) / 2.0 for j in range(overlap)]


def mirror(index: int, first: int, count: int) -> int:
    """Reflect ``index`` into [first, first + count) without repeating the edges."""
    if count <= 1:
        return first
    period = 2 * (count - 1)
    m = (index - first) % period
    return first + (m if m < count else period - m)


@dataclass(frozen=True)
class RunClip:
    """Run the model on ``frames`` (virtual shot indices) and accumulate ``weights``.

    ``sources[i]`` is the real shot index whose inputs stand in for frames[i].
    """

    start: int
    frames: tuple[int, ...]
    sources: tuple[int, ...]
    weights: tuple[float, ...]


@dataclass(frozen=True)
class Decode:
    """Decode these (virtual) frames together; ``sources`` as in RunClip; keep ``real``."""

    frames: tuple[int, ...]
    sources: tuple[int, ...]
    real: tuple[int, ...]


class ClipScheduler:
    """Decides, as frames arrive, which clips to run and which chunks to decode.

    Frames are shot indices ``first, first + 1, ...``. Call :meth:`ready`
    with the number of frames received so far, then once more with
    ``ended=True``; each call returns the actions that have become possible,
    in order.
    """

    def __init__(self, first: int, clip: int = 8, overlap: int = 4, decode_chunk: int = 8) -> None:
        if not 0 < overlap < clip:
            raise ValueError(f"overlap {overlap} must be in 1..{clip - 1}")
        self.clip, self.overlap, self.stride = clip, overlap, clip - overlap
        if decode_chunk % self.stride:
            raise ValueError(f"decode chunk {decode_chunk} is not a multiple of the stride {self.stride}")
        self.decode_chunk = decode_chunk
        self.first = first
        self.grid_start = (first // self.stride) * self.stride
        self.next_clip = self.grid_start
        self.next_decode = (self.grid_start // decode_chunk) * decode_chunk
        self.clips_run = 0
        self.covered_end = self.grid_start  # one past the last frame any clip has produced
        self.received = 0
        self.ended = False
        self._tail = cosine_tail(overlap)

    @property
    def last(self) -> int:
        return self.first + self.received - 1

    def source(self, index: int) -> int:
        """The real frame standing in for ``index`` (itself when it is real)."""
        if self.first <= index <= self.last:
            return index
        if index < self.first:
            # Mirror the run-in over the frames the first clip will have seen,
            # the same whatever the batching (see _first_clip_span).
            return mirror(index, self.first, min(self.received, self._first_clip_span()))
        if not self.ended:
            raise ValueError(f"frame {index} is past the frames received so far")
        return mirror(index, self.first, self.received)

    def _first_clip_span(self) -> int:
        return self.grid_start + self.clip - self.first

    def weights(self, start: int) -> tuple[float, ...]:
        """Accumulation weights of the clip at ``start`` (before normalisation).

        The head fades in (except on the first clip); the tail always fades
        out: if no later clip comes, normalising by the frame's total weight
        gives back the clip's own value.
        """
        out = []
        for i in range(self.clip):
            w = 1.0
            if start != self.grid_start and i < self.overlap:
                w *= 1.0 - self._tail[i]
            j = i - self.stride
            if j >= 0:
                w *= self._tail[j]
            out.append(w)
        return tuple(out)

    def ready(self, received: int, ended: bool = False) -> list[RunClip | Decode]:
        if received < self.received:
            raise ValueError("frames received cannot go down")
        self.received, self.ended = received, ended
        actions: list[RunClip | Decode] = []
        if received == 0:
            return actions
        while self._clip_due():
            start = self.next_clip
            frames = tuple(range(start, start + self.clip))
            actions.append(RunClip(start, frames, tuple(self.source(f) for f in frames), self.weights(start)))
            self.clips_run += 1
            self.covered_end = start + self.clip
            self.next_clip += self.stride
        while self._decode_due():
            c = self.next_decode
            lo, hi = max(c, self.grid_start), min(c + self.decode_chunk, self._final_end())
            frames = tuple(range(lo, hi))
            real = tuple(f for f in frames if self.first <= f <= self.last)
            if real:
                actions.append(Decode(frames, tuple(self.source(f) for f in frames), real))
            self.next_decode += self.decode_chunk
        return actions

    def _clip_due(self) -> bool:
        s = self.next_clip
        if s + self.clip - 1 <= self.last:
            return True
        if not self.ended:
            return False
        # At the end: run while the previous clip left real frames uncovered.
        return self.clips_run == 0 or self.covered_end <= self.last

    def _final_end(self) -> int:
        """One past the last frame whose latent can no longer change."""
        return self.covered_end if self.ended else min(self.next_clip, self.covered_end)

    def _decode_due(self) -> bool:
        c = self.next_decode
        if self.ended:
            return c < self._final_end() and c <= self.last
        return c + self.decode_chunk <= self._final_end()
