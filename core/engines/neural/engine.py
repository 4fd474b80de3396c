"""The neural engine: Any-to-Bokeh on scene-linear plates of any size and length.

Per frame (once, however many clips use it): fit the plate to the working
size, encode it to the model's display space, VAE-encode the all-in-focus
image (keeping the encoder activations for the decoder's skips) and the
defocus map, embed it with CLIP. Per clip of 8 frames: one UNet evaluation at
timestep 1.0; clip latents are cross-faded (see ``clips``). Per decode chunk:
the temporal VAE decoder, then back to scene-linear at the plate's size,
highlights restored and the in-focus pixels taken from the plate.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F

from focuspull.engines.base import Engine, EngineInput, EngineOutput, ShotStatistics
from focuspull.engines.neural.clip_input import clip_pixels
from focuspull.engines.neural.clips import ClipScheduler, Decode, RunClip
from focuspull.engines.neural.conditioning import (
    defocus_map,
    model_strength,
    mpi_plane_index,
    normalise_disparity,
    strength_fourier,
)
from focuspull.engines.neural.options import NeuralOptions
from focuspull.engines.neural.plate import ColorBridge, WorkingGeometry, coc_mix, mirror_pad, recombine, resize
from focuspull.errors import EngineError
from focuspull.params import FrameParams

if TYPE_CHECKING:
    from focuspull.aperture import ApertureSpec
    from focuspull.color import ColorConfig
    from focuspull.engines.neural.loader import AnyToBokehModels

__all__ = ["NeuralEngine"]

log = logging.getLogger(__name__)

#: SVD micro-conditioning: fps - 1, motion bucket, noise augmentation (none: one clean step)
ADDED_TIME_IDS = (6.0, 127.0, 0.0)
#: k outside this range was never seen in training (about 1..32)
TRAINED_K = (0.0, 48.0)


@dataclass
class _Frame:
    """One real frame: the plate (until written) and its model inputs (until no clip needs them)."""

    index: int
    frame: int
    rgba: torch.Tensor | None  # (C, H, W) scene-linear, dropped once the output is made
    disparity: torch.Tensor | None  # (1, H, W)
    params: FrameParams  # this frame's (T = 1)
    aif: torch.Tensor  # (4, h, w) scaled latent
    defocus: torch.Tensor  # (4, h, w) scaled latent
    embedding: torch.Tensor  # (1, C) CLIP image embedding
    features: torch.Tensor  # (32,) Fourier features of k
    residuals: list[torch.Tensor]  # encoder down-block inputs, (C_j, H_j, W_j)
    plane: torch.Tensor | None = None  # (1, h, w) MPI plane index (object attention only)


@dataclass
class _Stream:
    scheduler: ClipScheduler | None = None
    geometry: WorkingGeometry | None = None
    frames: dict[int, _Frame] = field(default_factory=dict)
    latent_sum: dict[int, torch.Tensor] = field(default_factory=dict)
    weight_sum: dict[int, float] = field(default_factory=dict)
    results: dict[int, tuple[torch.Tensor, dict[str, torch.Tensor]]] = field(default_factory=dict)
    received: int = 0


class NeuralEngine(Engine):
    name: ClassVar[str] = "neural"
    context_frames: ClassVar[int] = 4
    needs_shot_statistics: ClassVar[bool] = True

    def __init__(
        self,
        options: NeuralOptions,
        aperture: "ApertureSpec",
        device: torch.device,
        color: "ColorConfig | None" = None,
        *,
        models: "AnyToBokehModels | None" = None,
    ) -> None:
        super().__init__(options, aperture, device, color)
        self.options: NeuralOptions = options
        self.dtype = _dtype(options.precision, device)
        self.bridge = ColorBridge(color, options.model_colorspace)
        self.stats: ShotStatistics | None = None
        self._models: AnyToBokehModels | None = models
        self._models_ready = False
        self._frame_index: dict[int, int] = {}
        self._highlight_engine: Engine | None = None
        self._warned_k = False
        if models is not None:  # already loaded (tests, benchmarks, a long-lived worker)
            self.weights_folder = models.folder
        else:
            # Fail before the pipeline reads a single frame: only file checks
            # here, the models load on first use.
            from focuspull.models import require_model

            self.weights_folder = require_model("any-to-bokeh", options.weights)

    # -- models ------------------------------------------------------------------
    @property
    def models(self) -> "AnyToBokehModels":
        """The models (loaded on first use, from local files only)."""
        if self._models is None:
            from focuspull.engines.neural.loader import load_models

            self._models = load_models(self.weights_folder, self.device, self.dtype)
        if not self._models_ready:
            vae = self._models.vae
            if next(vae.decoder.parameters()).dtype == torch.float16 and vae.config.force_upcast:
                # SVD's VAE encoder overflows in float16; its decoder does not.
                vae.encoder.float()
                vae.quant_conv.float()
            self._models_ready = True
        return self._models

    # -- the Engine contract ---------------------------------------------------------
    def begin_shot(self, stats: ShotStatistics) -> None:
        self.stats = stats
        self._frame_index = {f: i for i, f in enumerate(stats.frames)}

    def header_attributes(self) -> dict[str, str]:
        attrs = {"focuspull/engine": self.name, "focuspull/neural/precision": str(self.dtype).replace("torch.", "")}
        attrs["focuspull/neural/weights"] = str(self.weights_folder)
        lo_hi = self._range()
        if lo_hi is not None:
            attrs["focuspull/neural/disparity_range"] = f"{lo_hi[0]:.6g} {lo_hi[1]:.6g}"
        return attrs

    def render(self, batch: EngineInput) -> EngineOutput:
        """The whole batch as one shot (its own disparity range unless the shot's is known)."""
        saved = self.stats, self._frame_index
        if self._range() is None:
            d = batch.disparity
            self.stats = ShotStatistics(float(d.min()), float(d.max()), tuple(batch.frames),
                                        int(batch.rgba.shape[-1]), int(batch.rgba.shape[-2]))
            self._frame_index = {f: i for i, f in enumerate(batch.frames)}
        try:
            (out,) = list(self.render_stream(iter([batch])))
        finally:
            self.stats, self._frame_index = saved
        return out

    def render_stream(self, batches: Iterator[EngineInput]) -> Iterator[EngineOutput]:
        if self._range() is None:
            raise EngineError(
                "the neural engine normalises disparity over the whole shot: the pipeline must call begin_shot "
                "(or set engine option disparity_range)"
            )
        _ = self.models  # load (or fail with the weights error) before any frame is read
        stream = _Stream()
        pending: deque[tuple[int, ...]] = deque()
        for batch in batches:
            indices = tuple(self._add_frame(stream, batch, t) for t in range(batch.num_frames))
            pending.append(indices)
            assert stream.scheduler is not None
            self._run(stream, stream.scheduler.ready(stream.received))
            yield from self._finished(stream, pending)
        if stream.scheduler is not None:
            self._run(stream, stream.scheduler.ready(stream.received, ended=True))
        yield from self._finished(stream, pending)
        if pending:
            raise EngineError(f"neural engine: {sum(map(len, pending))} frame(s) were not rendered (internal error)")

    # -- per frame ---------------------------------------------------------------------
    def _range(self) -> tuple[float, float] | None:
        if self.options.disparity_range is not None:
            return self.options.disparity_range
        if self.stats is not None:
            return self.stats.disparity_min, self.stats.disparity_max
        return None

    def _add_frame(self, stream: _Stream, batch: EngineInput, t: int) -> int:
        frame = batch.frames[t] if t < len(batch.frames) else stream.received
        if stream.scheduler is None:
            first = self._frame_index.get(frame, 0)
            o = self.options
            stream.scheduler = ClipScheduler(first, o.clip_frames, o.overlap_frames, o.decode_chunk_frames)
        index = stream.scheduler.first + stream.received
        if frame in self._frame_index and self._frame_index[frame] != index:
            raise EngineError(
                f"neural engine: frame {frame} arrived out of shot order (expected shot index {index}, "
                f"it is {self._frame_index[frame]})"
            )
        height, width = batch.rgba.shape[-2:]
        if stream.geometry is None:
            o = self.options
            stream.geometry = WorkingGeometry.fit(int(height), int(width), o.working_width, o.working_height)
            g = stream.geometry
            log.info("neural engine: %dx%d plate -> %dx%d working (%dx%d padded), scale %.4f",
                     width, height, g.content[1], g.content[0], g.padded[1], g.padded[0], g.scale)
        elif stream.geometry.plate_size != (height, width):
            raise EngineError(
                f"neural engine: frame {frame} is {width}x{height} but the shot started at "
                f"{stream.geometry.plate_size[1]}x{stream.geometry.plate_size[0]}"
            )
        stream.frames[index] = self._prepare(batch, t, frame, index, stream.geometry)
        stream.received += 1
        return index

    @torch.inference_mode()
    def _prepare(self, batch: EngineInput, t: int, frame: int, index: int, geometry: WorkingGeometry) -> _Frame:
        models = self.models
        lo, hi = self._range()  # type: ignore[misc]
        span = hi - lo if hi > lo else 1.0
        rgba = batch.rgba[t].float()
        disparity = batch.disparity[t].float()
        params = batch.params.take([t])
        focus = float(params.focus_disparity[0])
        strength = float(params.strength_px[0])
        dev = self.device

        # Linear light is resized (averaging light is right only in linear), then encoded.
        rgb_small = resize(rgba[None, :3].to(dev), geometry.content)
        display = self.bridge.encode(rgb_small).clamp(0.0, 1.0)
        aif = mirror_pad(display * 2.0 - 1.0, *geometry.padded)

        d_n = normalise_disparity(resize(disparity[None].to(dev), geometry.content), lo, hi)
        d_n = mirror_pad(d_n, *geometry.padded)
        focus_n = torch.tensor([(focus - lo) / span], device=dev)
        defocus = defocus_map(d_n, focus_n).expand(-1, 3, -1, -1) * 2.0 - 1.0

        vae = models.vae
        sf = float(vae.config.scaling_factor)
        aif_latent, residuals = vae.encode_with_skips(aif)
        defocus_latent = vae.encode_mean(defocus)
        embedding = self._embed(display)

        k = model_strength(torch.tensor([strength]), span, geometry.scale)
        self._check_k(float(k), frame)
        features = strength_fourier(k.to(dev), self.options.strength_embedding_dtype)[0]

        plane = None
        if self.options.mpi_object_attention:
            latent_size = aif_latent.shape[-2:]
            d_lat = F.interpolate(d_n, size=latent_size, mode="area")
            plane = mpi_plane_index(d_lat, focus_n.clamp(0.0, 1.0), self.options.mpi_alpha)[0]

        keep = self.dtype
        return _Frame(
            index=index,
            frame=frame,
            rgba=batch.rgba[t],
            disparity=batch.disparity[t],
            params=params,
            aif=(aif_latent[0] * sf).to(keep),
            defocus=(defocus_latent[0] * sf).to(keep),
            embedding=embedding.to(keep),
            features=features,
            residuals=[r[0].to(keep) for r in residuals],
            plane=plane,
        )

    def _embed(self, display: torch.Tensor) -> torch.Tensor:
        """Per-frame CLIP image embedding of the (unpadded) display image in 0..1 (see ``clip_input``)."""
        models = self.models
        settings = models.image_settings
        normalise = (settings.mean, settings.std) if self.options.clip_normalize else (None, None)
        x = clip_pixels(display, settings.size, *normalise)
        encoder = models.image_encoder
        dtype = next(encoder.parameters()).dtype
        return encoder(pixel_values=x.to(dtype)).image_embeds

    def _check_k(self, k: float, frame: int) -> None:
        if not self._warned_k and not TRAINED_K[0] <= k <= TRAINED_K[1]:
            self._warned_k = True
            log.warning(
                "neural engine: frame %d: model strength k = %.1f is outside what the model was trained on "
                "(about 1..32 pixels at 1024 wide per unit of normalised disparity); expect artefacts",
                frame, k,
            )

    # -- clips and chunks ----------------------------------------------------------------
    def _run(self, stream: _Stream, actions: list[RunClip | Decode]) -> None:
        try:
            for action in actions:
                if isinstance(action, RunClip):
                    self._run_clip(stream, action)
                else:
                    self._decode(stream, action)
                self._collect(stream)
        except torch.OutOfMemoryError as err:
            g = stream.geometry
            size = f"{g.padded[1]}x{g.padded[0]}" if g else "?"
            raise EngineError(
                f"neural engine: out of GPU memory at working size {size} with {self.options.clip_frames}-frame clips. "
                f"Try a smaller working size (engine options working_width=768 working_height=448), "
                f"decode_chunk_frames={max(self.options.clip_frames - self.options.overlap_frames, 1)}, "
                f"or clip_frames=6 overlap_frames=2"
            ) from err

    @torch.inference_mode()
    def _run_clip(self, stream: _Stream, action: RunClip) -> None:
        models = self.models
        frames = [stream.frames[s] for s in action.sources]
        sample = torch.stack([torch.cat([f.aif, f.defocus], dim=0) for f in frames])[None]
        context = torch.stack([f.embedding for f in frames])  # (F, 1, C)
        ids = torch.tensor([ADDED_TIME_IDS], device=self.device, dtype=self.dtype)
        features = torch.stack([f.features for f in frames])
        aif = planes = None
        if self.options.mpi_object_attention:
            aif = torch.stack([f.aif for f in frames])[None]
            planes = torch.stack([f.plane for f in frames])  # type: ignore[misc]
        out = models.unet(sample.to(self.dtype), context, ids, features, aif_latents=aif, plane_index=planes)[0]
        for v, w, latent in zip(action.frames, action.weights, out.float()):
            if v in stream.latent_sum:
                stream.latent_sum[v] = stream.latent_sum[v] + w * latent
                stream.weight_sum[v] += w
            else:
                stream.latent_sum[v] = w * latent
                stream.weight_sum[v] = w

    @torch.inference_mode()
    def _decode(self, stream: _Stream, action: Decode) -> None:
        models = self.models
        vae = models.vae
        sf = float(vae.config.scaling_factor)
        latents = torch.stack([stream.latent_sum[v] / stream.weight_sum[v] for v in action.frames]) / sf
        frames = [stream.frames[s] for s in action.sources]
        residuals = [torch.stack([f.residuals[j] for f in frames]) for j in range(len(frames[0].residuals))]
        images = vae.decode_with_skips(latents, residuals)
        display = ((images.float() + 1.0) / 2.0).clamp(0.0, 1.0)
        for v, image in zip(action.frames, display):
            if v in action.real:
                stream.results[v] = self._finish(stream.frames[v], image[None], stream.geometry)  # type: ignore[arg-type]
        for v in action.frames:
            stream.latent_sum.pop(v, None)
            stream.weight_sum.pop(v, None)

    def _finish(self, f: _Frame, display: torch.Tensor, geometry: WorkingGeometry) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Model output (1, 3, h, w) display -> the plate-size scene-linear frame."""
        assert f.rgba is not None and f.disparity is not None
        h, w = geometry.content
        model_rgb = resize(self.bridge.decode(display[..., :h, :w]), geometry.plate_size)[0]
        plate = f.rgba.to(self.device).float()
        radius = abs(f.params.signed_coc_px(f.disparity.to(self.device).float(), 0))
        sharp = self.options.sharp_radius_px
        blend = self.options.blend_radius_px or max(sharp + 1.0, 2.0 / geometry.scale)
        mix = coc_mix(radius, sharp, blend)
        if self.options.restore_highlights:
            model_rgb = model_rgb + self._highlights(f)
        rgb = recombine(plate[:3], model_rgb, mix)
        rgba = torch.cat([rgb, plate[3:]], dim=0)  # alpha passes through unchanged
        aux = {}
        if "coc.radius" in self.options.aux_channels:
            aux["coc.radius"] = radius
        if "neural.mix" in self.options.aux_channels:
            aux["neural.mix"] = mix
        f.rgba = f.disparity = None
        return rgba.to(torch.float32), aux

    def _highlights(self, f: _Frame) -> torch.Tensor | float:
        """Light the model cannot carry, taken from the physical engine: P - roundtrip(P).

        Zero (and no physical render) when no pixel of the plate is outside
        what the model's display range holds: a defocus only averages light,
        so it cannot create values outside the range of its input.
        """
        assert f.rgba is not None and f.disparity is not None
        plate = f.rgba[None, :3].float()
        encoded = self.bridge.encode(plate)
        if bool(((encoded >= 0.0) & (encoded <= 1.0)).all()):
            return 0.0
        physical = self._physical().render(
            EngineInput(rgba=f.rgba[None].to(self.device), disparity=f.disparity[None].to(self.device), params=f.params)
        ).rgba[:, :3].float()
        return (physical - self.bridge.roundtrip(physical))[0].to(self.device)

    def _physical(self) -> Engine:
        if self._highlight_engine is None:
            try:
                from focuspull.engines.physical import PhysicalEngine, PhysicalOptions
            except ImportError as err:
                raise EngineError(
                    "neural engine: restoring highlights needs the physical engine, which cannot be imported "
                    f"({err}); set engine option restore_highlights=false to render without it"
                ) from err
            engine = PhysicalEngine(PhysicalOptions(), self.aperture, self.device, self.color)
            if engine.needs_shot_statistics and self.stats is not None:
                engine.begin_shot(self.stats)
            self._highlight_engine = engine
        return self._highlight_engine

    def _collect(self, stream: _Stream) -> None:
        """Drop model inputs no clip, chunk or end mirror can need any more."""
        s = stream.scheduler
        if s is None:
            return
        keep_from = min(s.next_clip, s.next_decode, s.last - self.options.clip_frames)
        for index in [i for i, f in stream.frames.items() if i < keep_from and f.rgba is None]:
            del stream.frames[index]

    def _finished(self, stream: _Stream, pending: deque[tuple[int, ...]]) -> Iterator[EngineOutput]:
        while pending and all(i in stream.results for i in pending[0]):
            indices = pending.popleft()
            parts = [stream.results.pop(i) for i in indices]
            rgba = torch.stack([p[0] for p in parts])
            aux = {name: torch.stack([p[1][name] for p in parts]) for name in (parts[0][1] if parts else {})}
            yield EngineOutput(rgba=rgba, aux=aux)


def _dtype(precision: str, device: torch.device) -> torch.dtype:
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}[precision]
    if device.type == "cpu" and dtype != torch.float32:
        log.warning("neural engine: %s on the CPU is slow and poorly supported; float32 is the CPU default", precision)
    return dtype
