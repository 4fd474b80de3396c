"""The physical engine: an occlusion-aware layered (multi-plane) lens renderer.

Per frame:

1. the signed CoC radius r = K * (d - d_f) (positive in front of focus) is
   shaped by the in-focus width and the front/back multipliers;
2. r is placed on a fixed ladder of plane radii (``ladder``) and each pixel
   is shared linearly between the two planes around it (tent weights), so the
   result moves continuously with focus and strength: no plane popping. A
   pixel under 1 px goes whole to the focus plane, which spreads it by the
   kernel of its own radius (``kernels.plate_radius``: the identity up to about
   0.76 px, as a plate's pixels are already averages over their area). Small
   lights are taken out of the planes and drawn with the exact disk of their
   own radius (``sprites``): crisp rims and exact disks at every radius;
3. plane by plane, front to back, the plane's premultiplied colour, alpha and
   weight are blurred with the aperture kernel of its radius (directly, by
   FFT, or at 1/2, 1/4... resolution for large radii, on crops around the
   plane's pixels: ``blocks``) and added where the nearer planes leave it
   visible (a cat's-eye aperture varies over the frame: ``cateye``);
   consecutive planes at the same reduced resolution are composited among
   themselves at that resolution and enlarged once (``composite``);
4. the sum is divided by its accumulated weight, which renormalises whatever
   holes are left where nearer planes hid farther ones. At the frame border
   each plane is extended by its blur's reach with the border's own content
   (edge clamp): the scene goes on past the frame, so nearer planes keep their
   cover there and nothing smears along the border.

Occlusion: plane i is hidden by the blurred alpha of planes i+2 and nearer,
summed (they partition one image, so a surface split between two planes still
hides what is behind it completely), and never by plane i+1, which holds the
other share of the same pixels (a pixel split between two planes would
otherwise hide half of itself). Before blurring, a plane's part hidden behind
much nearer content is guessed from its visible neighbours (``fill``), so a
defocused foreground shows background behind its edges.

Pixels in focus (|r| <= 0.5 px) come back bit for bit when nothing in front
spreads over them. Scene-linear values are never clipped: kernels sum to one,
so light is conserved.

Stages carry torch.profiler labels (free when no profiler runs):
``physical.resample``, ``.fill``, ``.convolve``, ``.sprites``, ``.composite``;
``bench/bench_physical.py`` reports their shares.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, ClassVar

import torch
import torch.nn.functional as F
from torch.profiler import record_function

from focuspull.aperture import ApertureSpec
from focuspull.engines.base import Engine, EngineInput, EngineOutput
from focuspull.engines.physical import blocks, cateye, composite, convolve, highlights, sprites
from focuspull.engines.physical.fill import fill_hidden
from focuspull.engines.physical.kernels import KernelShape, kernel_half_size, plate_radius, render_kernel, subpixel_kernels
from focuspull.engines.physical.ladder import ladder_levels, plane_weight, pyramid_factor
from focuspull.engines.physical.maxfilter import max3x3
from focuspull.engines.physical.options import PhysicalOptions
from focuspull.errors import EngineError, ImageDataError
from focuspull.params import FrameParams

if TYPE_CHECKING:
    from focuspull.color import ColorConfig

log = logging.getLogger(__name__)

#: blurred weights below this are FFT rounding noise, not light: they are zeroed
#: so pixels nothing reaches stay exactly unchanged
_NOISE_WEIGHT = 1e-6
#: accumulated weight below which a pixel has received nothing
_EMPTY_WEIGHT = 1e-9
#: a plane's hidden part is filled under content at least this many planes nearer
#: (closer planes are a continuous surface, not an occluder)
_FILL_GAP = 3
#: consecutive reduced planes are composited as one run (``composite.ReducedRun``) from this many
_RUN_MIN_PLANES = 3


class PhysicalEngine(Engine):
    """Layered, occlusion-aware, HDR-correct defocus (see the module docstring)."""

    name: ClassVar[str] = "physical"

    def __init__(
        self, options: PhysicalOptions, aperture: ApertureSpec, device: torch.device, color: "ColorConfig | None" = None
    ) -> None:
        # scene-linear in and out: the colour config is kept for the contract, not used
        super().__init__(options, aperture, torch.device(device), color)
        # Tiles trade tensor operations for arithmetic. On the CPU arithmetic is what
        # costs; on a GPU every operation is a kernel launch (several microseconds
        # whatever its size) and tiles multiply them: a 4K frame at K = 64 takes about
        # 56 000 operations in tiles, 6 800 with one box per plane.
        self._tiled = self.device.type == "cpu"

    # -- public -------------------------------------------------------------
    def render(self, batch: EngineInput) -> EngineOutput:
        rgba, disparity, params = batch.rgba, batch.disparity, batch.params
        _check_input(batch)
        outputs: list[torch.Tensor] = []
        aux_frames: dict[str, list[torch.Tensor]] = {name: [] for name in self.options.aux_channels}
        with torch.no_grad():
            for t in range(batch.num_frames):
                out, aux = self._render_frame(
                    rgba[t].to(self.device, torch.float32), disparity[t, 0].to(self.device, torch.float32), params, t
                )
                outputs.append(out.to(rgba.device))
                for name in aux_frames:
                    aux_frames[name].append(aux[name][None].to(rgba.device))
        return EngineOutput(
            rgba=torch.stack(outputs), aux={name: torch.stack(maps) for name, maps in aux_frames.items()}
        )

    def header_attributes(self) -> dict[str, str]:
        attrs = super().header_attributes()
        attrs["focuspull/aperture"] = self.aperture.shape
        return attrs

    # -- parameters -----------------------------------------------------------
    def _kernel_shape(self, params: FrameParams, t: int) -> KernelShape:
        ap = self.aperture
        aspect = float(params.aspect[t])
        if not aspect > 0:
            raise EngineError(f"aperture.aspect: {aspect} must be greater than 0")
        return KernelShape(
            shape=ap.shape,
            blades=ap.blades,
            roundness=ap.roundness,
            rotation_deg=float(params.rotation_deg[t]),
            aspect=aspect,
            inner_radius=ap.inner_radius,
            kernel_path=ap.kernel_path,
        )

    # -- one frame ----------------------------------------------------------
    def _render_frame(
        self, image: torch.Tensor, disparity: torch.Tensor, params: FrameParams, t: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Frame t of the batch; its lens parameters are ``params`` at position t."""
        opts = self.options
        channels, height, width = image.shape
        radius = params.signed_coc_px(disparity, t)
        max_abs = float(radius.abs().max()) if radius.numel() else 0.0
        levels = ladder_levels(max_abs, opts.pyramid_radius_px, opts.plane_step_px)
        level_t = torch.tensor(levels, dtype=torch.float32, device=image.device)
        slab = (torch.bucketize(radius, level_t, right=True) - 1).clamp_(0, len(levels) - 2)
        lower, upper = level_t[slab], level_t[slab + 1]
        share = ((radius - lower) / (upper - lower)).clamp_(0.0, 1.0)  # weight of the upper plane

        aux = self._aux(radius, slab, share, levels)
        # |r| < 1 px: the whole pixel goes to the focus plane, which blurs each pixel with
        # the exact kernel of its own sub-pixel radius (sharing it between the identity and
        # a 1 px disk would blur half of it by a disk up to twice its size)
        zero = levels.index(0.0)
        share = torch.where(slab == zero, 0.0, torch.where(slab == zero - 1, 1.0, share))
        colour = image[:3]
        if opts.highlight_gain == "auto" or opts.highlight_gain > 1.0:
            colour = colour * _highlight_boost(colour, radius, opts)
        shape = self._kernel_shape(params, t)
        abs_radius = radius.abs()
        # where each pixel sits on the ladder of planes: its weight in plane i is the tent
        # 1 - |position - i| (ladder.plane_weight)
        position = slab.to(share.dtype) + share
        has_alpha = channels == 4
        # the stack blurred for each slab: premultiplied colour, alpha (occlusion), weight (normalisation)
        stack = torch.cat([colour, image[3:4]] if has_alpha else [colour], dim=0)
        alpha_index = 3
        found = sprites.find(colour, abs_radius, position, shape) if opts.crisp_highlights else None
        if found is not None:
            sprites.take_out(stack[:3], found)

        acc = torch.zeros(stack.shape[0] + 1, height, width, dtype=torch.float32, device=image.device)
        frame = _Frame(levels, slab, position, stack, blocks.slab_blocks(slab), shape, abs_radius)
        frame.sprites = found
        if opts.fill_occluded:
            # pixels next to much nearer ones sit on a depth edge, behind which their
            # planes continue hidden: where each slab has such pixels
            neighbour_max = max3x3(slab)
            edge = neighbour_max >= slab + _FILL_GAP
            # how blurred the occluder met across each edge pixel is: the largest |level|
            # of the nearer slabs, at an end of their range (|level| is V-shaped)
            last = len(levels) - 1
            abs_levels = level_t.abs()
            near_end = abs_levels[(slab[edge] + _FILL_GAP).clamp(max=last)]
            far_end = abs_levels[(neighbour_max[edge] + 1).clamp(max=last)]
            frame.edge_reach = blocks.slab_block_max(slab, torch.maximum(near_end, far_end), edge)
        # front to back. Plane i is seen through what planes i+2 and nearer cover, never
        # through plane i+1, which holds the other share of the same pixels. Coverages
        # add (1 - sum, not a product of 1 - a): the planes partition one image, so a
        # surface split between two planes still hides what is behind it completely
        # (a run of reduced planes multiplies its own cover with the nearer ones': composite).
        cover = torch.zeros(1, height, width, dtype=torch.float32, device=image.device)
        pending: list[_Piece] = []
        order = list(reversed(range(len(levels))))
        factors = [self._factor(i, frame) for i in range(len(levels))]
        start = 0
        while start < len(order):
            # consecutive planes at the same reduced resolution are composited as one run
            end = start + 1
            while end < len(order) and factors[order[end]] == factors[order[start]] > 1:
                end += 1
            if end - start < _RUN_MIN_PLANES:
                end = start + 1
            planes = [(i, self._plane(i, frame)) for i in order[start:end]]
            factor = factors[order[start]]
            first, pieces = planes[0]
            run = None
            if len(planes) > 1 and any(p for _, p in planes):
                run = composite.ReducedRun([p for _, p in planes], factor, alpha_index)
            # the first plane at full resolution: the plane before it does not hide it
            enlarged = [composite.enlarge(piece, factor) for piece in pieces]
            lights = self._sprites(first, frame)
            with record_function("physical.composite"):
                for piece in enlarged:
                    composite.add_behind(acc, cover, *piece)
                if lights is not None:
                    composite.add_behind(acc[:3], cover, *lights)
                for alpha in pending:
                    composite.add(cover, *alpha)
            pending = [(layer[alpha_index : alpha_index + 1], oy, ox) for layer, oy, ox in enlarged]
            if run is not None:
                with record_function("physical.composite"):
                    run.start(pieces)
                for i, pieces in planes[1:]:
                    lights = self._sprites(i, frame)
                    with record_function("physical.composite"):
                        if lights is not None:
                            light, oy, ox = lights
                            visible = run.visible(oy, ox, *light.shape[-2:])
                            composite.add_behind(acc[:3], cover, light * visible, oy, ox)
                        run.add(pieces)
                with record_function("physical.composite"):
                    pending = run.finish(acc, cover)
            start = end

        log.debug("frame: %d planes up to %.1f px", len(frame.blocks), max_abs)
        weight = acc[-1:]
        out = torch.where(weight > _EMPTY_WEIGHT, acc[:-1] / weight.clamp_min(_EMPTY_WEIGHT), 0.0)
        if not has_alpha:
            out = out[:3]
        return out, aux

    def _factor(self, i: int, frame: "_Frame") -> int:
        """Plane i's resolution divisor: the reduced plane must resolve the kernel's narrow axis (a squeezed aperture's)."""
        return pyramid_factor(abs(frame.levels[i]) * min(frame.shape.aspect, 1.0), self.options.pyramid_radius_px)

    def _sprites(self, i: int, frame: "_Frame") -> _Piece | None:
        """Plane i's share of the lights drawn as sprites, at full resolution."""
        if frame.sprites is None:
            return None
        height, width = frame.slab.shape
        amount = self.aperture.cat_eye

        def kernel_at(y: int, x: int) -> KernelShape:
            return cateye.cell_shape(frame.shape, amount, y, x, height, width) if amount > 0 else frame.shape
        with record_function("physical.sprites"):
            return sprites.draw(frame.sprites, i, kernel_at)

    def _plane(self, i: int, frame: "_Frame") -> list[_Piece]:
        """Blurred (stack, weight) pieces of plane i at its reduced resolution (``_factor``), each with its place in the frame."""
        height, width = frame.slab.shape
        grids = [frame.blocks[k] for k in (i - 1, i) if k in frame.blocks]
        if not grids:
            return []
        occupied = grids[0] | grids[1] if len(grids) == 2 else grids[0].clone()
        radius = abs(frame.levels[i])
        factor = self._factor(i, frame)
        fill = self._fill_grid(i, frame) if frame.edge_reach is not None else None
        if fill is not None:
            occupied |= fill[0]
        pieces = []
        for box in blocks.plane_boxes(occupied, radius, height, width, tiled=self._tiled):
            piece = self._piece(i, box, factor, radius, frame, fill[1] if fill is not None else None)
            if piece is not None:
                pieces.append(piece)
        return pieces

    def _piece(
        self, i: int, box: tuple[int, int, int, int], factor: int, radius: float, frame: "_Frame", fill_reach_px: float | None
    ) -> tuple[torch.Tensor, int, int] | None:
        """Blur the part of plane i inside ``box`` (blurring is linear: pieces add up); fill its hidden part that far."""
        height, width = frame.slab.shape
        y0, y1, x0, x1 = blocks.align_box(box, factor)
        crop = (slice(max(y0, 0), min(y1, height)), slice(max(x0, 0), min(x1, width)))
        position = frame.position[crop]
        # tent weights: upper share of the slab below, lower share of the slab above
        weight = plane_weight(position, i)
        if not bool(weight.max() > 0):
            return None
        focus_plane = frame.levels[i] == 0.0
        # The scene goes on past the frame: at a frame border the plane is extended by its
        # blur's reach with the border's own content (edge clamp), as a lens would see it.
        # Zero padding there would leave nearer planes thin at the border, and the frame's
        # renormalisation would show farther (and filled) content through them.
        at_border = [box[2] == 0, box[3] >= width, box[0] == 0, box[1] >= height]
        # a reduced-resolution plane needs one reduced pixel around its content: zeros
        # inside the frame; at the border two of the border's content, the outer one of
        # which the reduction leaves incomplete and the extension below replaces
        margin = factor if factor > 1 else 0
        # the aligned box may reach past the frame: that part is clamped too, or zero inside
        outside = [max(-x0, 0), max(x1 - width, 0), max(-y0, 0), max(y1 - height, 0)]
        clamp = [2 * margin + o if b else 0 for b, o in zip(at_border, outside)]
        zeros = [0 if b else margin + o for b, o in zip(at_border, outside)]
        # each map is made inside its padded buffer (no copy to pad it afterwards)
        data, inside = _padded(frame.stack.shape[0] + 1, weight.shape, clamp, zeros, weight)
        torch.mul(frame.stack[(slice(None),) + crop], weight, out=inside[:-1])
        inside[-1] = weight
        _pad_in_place(data, clamp, zeros)
        nearer = None
        if fill_reach_px is not None:
            gap = i + _FILL_GAP
            nearer, inside = _padded(1, weight.shape, clamp, zeros, weight)
            # the share of planes gap and nearer
            torch.clamp(position - (gap - 1), 0.0, 1.0, out=inside[0])
            if bool(inside.max() > 0):
                _pad_in_place(nearer, clamp, zeros)
            else:  # nothing to fill under (edge clamp repeats the border: nothing there either)
                nearer = None
        subpixel = None
        if focus_plane:
            subpixel, inside = _padded(1, weight.shape, clamp, zeros, weight)
            inside[0] = frame.abs_radius[crop]
            _pad_in_place(subpixel, clamp, zeros)
        origin = (max(y0, 0) - clamp[2] - zeros[2], max(x0, 0) - clamp[0] - zeros[0])
        # the rest of the reach (in reduced pixels) is added after the fill, which guesses
        # hidden content from the frame alone
        reach = kernel_half_size(1.0 if focus_plane else radius / factor, frame.shape) + 2
        extend = tuple(reach if b else 0 for b in at_border)
        return self._blur_plane(
            data, radius, factor, frame.shape, origin, (height, width), nearer, subpixel, extend, fill_reach_px
        )

    def _fill_grid(self, i: int, frame: "_Frame") -> tuple[torch.Tensor, float] | None:
        """Blocks where plane i's hidden part is worth guessing (near its depth edges with much nearer content), and how far from them (px)."""
        reaches = [frame.edge_reach[k] for k in (i - 1, i) if k in frame.edge_reach]
        if not reaches:
            return None
        occluder = reaches[0] if len(reaches) == 1 else torch.maximum(*reaches)
        # the hidden part shows through the occluder's blurred edge (up to the occluder's
        # radius) and spreads into view by this plane's own radius: each edge block is
        # dilated by its own reach, not by the frame's largest (a crowd's edges would
        # otherwise make every plane frame-sized)
        reach_px = torch.where(occluder > 0, occluder + abs(frame.levels[i]) + 1, 0.0)
        reach_blocks = torch.ceil(reach_px / blocks.BLOCK_PX)
        grid = torch.zeros_like(occluder, dtype=torch.bool)
        for reach in torch.unique(reach_blocks[reach_blocks > 0]).tolist():
            r = int(reach)
            seeds = (reach_blocks == reach).to(torch.float32)[None, None]
            grid |= F.max_pool2d(seeds, 2 * r + 1, stride=1, padding=r)[0, 0] > 0
        return grid, float(reach_px.max())

    def _blur_plane(
        self,
        data: torch.Tensor,
        radius: float,
        factor: int,
        shape: KernelShape,
        origin: tuple[int, int],
        frame_size: tuple[int, int],
        nearer: torch.Tensor | None = None,
        subpixel: torch.Tensor | None = None,
        extend: tuple[int, int, int, int] = (0, 0, 0, 0),
        fill_reach_px: float | None = None,
    ) -> tuple[torch.Tensor, int, int]:
        """Blur a (stack, weight) crop whose top-left is ``origin``; returns it at 1/factor resolution and its new place.

        ``subpixel`` (1, h, w): the focus plane's per-pixel |radius| (< 1 px); each
        pixel is spread by the sub-pixel kernel of its own radius (``subpixel_kernels``). ``extend`` (left,
        right, top, bottom): reduced pixels of edge clamp added after the fill.
        ``nearer``: the fill's (1, h, w) share of nearer planes; ``fill_reach_px``: how
        far under them the guessed content is seen.
        """
        y0, x0 = origin
        with record_function("physical.resample"):
            small = convolve.downsample(data, factor)
        if nearer is not None:
            with record_function("physical.fill"):
                reach = None if fill_reach_px is None else fill_reach_px / factor
                small = fill_hidden(small, convolve.downsample(nearer, factor), reach)
        if any(extend):
            if factor > 1:
                trim = [1 if e else 0 for e in extend]
                small = small[:, trim[2] : small.shape[1] - trim[3], trim[0] : small.shape[2] - trim[1]]
                y0, x0 = y0 + trim[2] * factor, x0 + trim[0] * factor
                extend = tuple(e + t for e, t in zip(extend, trim))
            small = F.pad(small[None], extend, mode="replicate")[0]
            y0, x0 = y0 - extend[2] * factor, x0 - extend[0] * factor
            if subpixel is not None:
                subpixel = F.pad(subpixel[None], extend, mode="replicate")[0]
        if subpixel is not None:
            table = subpixel_kernels(shape).to(small.device)
            half = (table.shape[-1] - 1) // 2
            with record_function("physical.convolve"):
                return convolve.spread_subpixel(small, subpixel[0], table), y0 - half, x0 - half
        # the 1 px plane continues the focus plane's sub-pixel kernels (plate_radius); the
        # tent reduction and bilinear enlargement each add f^2/6 of variance per axis: a
        # slightly smaller kernel keeps the footprint's second moment on the law
        r = plate_radius(radius) if radius <= 1.0 else radius / factor
        if factor > 1:
            r = math.sqrt(max(r * r - 4.0 / 3.0, 0.25))
        half = kernel_half_size(r, shape)
        with record_function("physical.convolve"):
            if self.aperture.cat_eye > 0:
                blurred = cateye.convolve_varying(small, r, shape, self.aperture.cat_eye, half, factor, (y0, x0), frame_size)
            else:
                blurred = convolve.convolve_sum([(small, render_kernel(r, shape, half).to(small.device))])
        # FFT rounding leaves ~1e-8 everywhere in the crop: zero what no light reached
        # (before enlarging: a pixel between reduced pixels that are all zero stays zero)
        blurred.mul_(blurred[-1:] > _NOISE_WEIGHT)
        return blurred, y0 - half * factor, x0 - half * factor

    # -- diagnostics ----------------------------------------------------------
    def _aux(self, radius: torch.Tensor, slab: torch.Tensor, share: torch.Tensor, levels: list[float]) -> dict[str, torch.Tensor]:
        wanted = self.options.aux_channels
        aux: dict[str, torch.Tensor] = {}
        if "coc.radius" in wanted:
            aux["coc.radius"] = radius.clone()
        if "focus.matte" in wanted:
            aux["focus.matte"] = torch.clamp(1.0 - radius.abs(), 0.0, 1.0)
        if "plane.index" in wanted:
            zero = levels.index(0.0)
            aux["plane.index"] = (slab - zero).to(torch.float32) + share
        return aux


# -- helpers ----------------------------------------------------------------
_Piece = composite.Piece


class _Frame:
    """What every plane of one frame needs."""

    def __init__(self, levels, slab, position, stack, slab_blocks, shape, abs_radius) -> None:
        self.levels: list[float] = levels
        self.slab: torch.Tensor = slab
        #: slab + share: where each pixel sits on the ladder of planes
        self.position: torch.Tensor = position
        self.stack: torch.Tensor = stack
        #: slab -> (rows, cols) bool grid of the pixel blocks that hold it (CPU)
        self.blocks: dict[int, torch.Tensor] = slab_blocks
        self.shape: KernelShape = shape
        #: |CoC radius| per pixel (px): the focus plane's per-pixel sub-pixel kernels read it
        self.abs_radius: torch.Tensor = abs_radius
        #: light pixels drawn as sprites (taken out of the stack), or None
        self.sprites: sprites.Sprites | None = None
        #: slab -> (rows, cols) grid: the largest |radius| (px) of the much nearer content met
        #: by its pixels on a depth edge in each block, 0 where none (when filling; CPU)
        self.edge_reach: dict[int, torch.Tensor] | None = None


def _padded(
    channels: int, size: torch.Size, clamp: list[int], zeros: list[int], like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """An uninitialised (channels, h, w) map with room for ``clamp`` then ``zeros`` (left, right, top, bottom) around it, and its inside."""
    h, w = size
    left, top = clamp[0] + zeros[0], clamp[2] + zeros[2]
    full = torch.empty(channels, h + top + clamp[3] + zeros[3], w + left + clamp[1] + zeros[1], dtype=like.dtype, device=like.device)
    return full, full[:, top : top + h, left : left + w]


def _pad_in_place(full: torch.Tensor, clamp: list[int], zeros: list[int]) -> None:
    """Fill the margins of a ``_padded`` map: edge-replicated (``clamp``), then zeros (``zeros``)."""
    hh, ww = full.shape[-2:]
    y0, y1 = zeros[2], hh - zeros[3]  # the clamped map's rows
    x0, x1 = zeros[0], ww - zeros[1]
    top, bottom, left, right = y0 + clamp[2], y1 - clamp[3], x0 + clamp[0], x1 - clamp[1]  # the inside
    if clamp[0]:
        full[:, top:bottom, x0:left] = full[:, top:bottom, left : left + 1]
    if clamp[1]:
        full[:, top:bottom, right:x1] = full[:, top:bottom, right - 1 : right]
    if clamp[2]:
        full[:, y0:top, x0:x1] = full[:, top : top + 1, x0:x1]
    if clamp[3]:
        full[:, bottom:y1, x0:x1] = full[:, bottom - 1 : bottom, x0:x1]
    for strip in (full[:, :y0], full[:, y1:], full[:, y0:y1, :x0], full[:, y0:y1, x1:]):
        strip.zero_()


def _check_input(batch: EngineInput) -> None:
    rgba, disparity = batch.rgba, batch.disparity
    if rgba.ndim != 4 or rgba.shape[1] not in (3, 4):
        raise ImageDataError(f"physical engine: rgba must be (T, 3|4, H, W), got {tuple(rgba.shape)}")
    t, _, h, w = rgba.shape
    if tuple(disparity.shape) != (t, 1, h, w):
        raise ImageDataError(f"physical engine: disparity must be {(t, 1, h, w)}, got {tuple(disparity.shape)}")
    if len(batch.params) != t:
        raise ImageDataError(f"physical engine: params must have {t} frames, got {len(batch.params)}")
    if not bool(torch.isfinite(disparity).all()):
        raise ImageDataError("physical engine: disparity has NaN or infinite values")
    strength = batch.params.strength_px
    if bool((strength < 0).any()):
        raise ImageDataError(f"physical engine: strength_px must be >= 0, got {float(strength.min())}")


def _highlight_boost(colour: torch.Tensor, radius: torch.Tensor, opts: PhysicalOptions) -> torch.Tensor:
    """Gain for near-clipped pixels: ramps in below the threshold, only where the pixel blurs."""
    luma = 0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2]
    start = opts.highlight_threshold - opts.highlight_softness
    if opts.highlight_softness > 0:
        x = ((luma - start) / opts.highlight_softness).clamp(0.0, 1.0)
        ramp = x * x * (3 - 2 * x)
    else:
        ramp = (luma >= opts.highlight_threshold).to(colour.dtype)
    gain = opts.highlight_gain
    if gain == "auto":  # small clipped regions only (highlights.py)
        gain = highlights.AUTO_GAIN
        ramp = ramp * (luma <= highlights.CLIP_CEILING)
        ramp = ramp * highlights.small_regions(ramp > 0, opts.highlight_max_size_px)
    # an in-focus pixel keeps its value: the boost only restores light that the blur spreads
    blur = radius.abs().clamp(max=1.0)
    return 1.0 + (gain - 1.0) * ramp * blur
