"""The Any-to-Bokeh UNet: SVD-XT's spatio-temporal UNet plus the bokeh fuser.

Built from diffusers' ``UNetSpatioTemporalConditionModel``. Each spatial
``BasicTransformerBlock`` gets a ``fuser`` at the GLIGEN position (after
self-attention, before cross-attention), and the UNet gets ``conv_in_mpi``,
the projection of the all-in-focus latent to MPI object tokens. Parameter
names follow the released checkpoint::

    conv_in_mpi.{weight,bias}                                Conv2d(4 -> C0, 3x3)
    <...>.transformer_blocks.<j>.fuser.k_encoder             Linear(32 -> dim)
    <...>.transformer_blocks.<j>.fuser.linear                Linear(C0 -> dim), object tokens
    <...>.transformer_blocks.<j>.fuser.mpi_attn.to_{q,k,v,out.0}
    <...>.transformer_blocks.<j>.fuser.ff.net.{0.proj,2}     GEGLU feed-forward
    <...>.transformer_blocks.<j>.fuser.ff_k.net.{0.proj,2}   (in the checkpoint, unused by it)
    <...>.transformer_blocks.<j>.fuser.norm1/norm2/norm_k    LayerNorm(dim)
    <...>.transformer_blocks.<j>.fuser.alpha_attn/alpha_dense  gates (scalars)

C0 is the first block width (320 in SVD-XT), read from the config.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers.models.attention import BasicTransformerBlock, FeedForward
from diffusers.models.attention_processor import Attention
from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel
from diffusers.models.unets.unet_spatio_temporal_condition import UNetSpatioTemporalConditionModel
from torch import nn

from focuspull.engines.neural.conditioning import FOURIER_FREQUENCIES

__all__ = ["BokehFuser", "BokehTransformerBlock", "BokehUNet", "FuserCondition"]


@dataclass
class FuserCondition:
    """Per-forward inputs shared by every fuser block.

    strength_features: (B*F, 32) Fourier features of k.
    objects:           (B*F, C0, h, w) ``conv_in_mpi`` of the AIF latent, or None
                       when object tokens are masked out (the released model).
    plane_index:       (B*F, 1, h, w) MPI plane of each latent pixel, with objects.
    """

    strength_features: torch.Tensor
    objects: torch.Tensor | None = None
    plane_index: torch.Tensor | None = None


class BokehFuser(nn.Module):
    """Strength embedding plus gated attention over [tokens; MPI object tokens].

    ``level`` is the block's depth in the UNet (0 at full latent resolution):
    a block sees the object tokens of planes 0..level, so fine blocks only
    look at content near the focal plane.
    """

    def __init__(self, dim: int, object_dim: int, heads: int, head_dim: int, level: int) -> None:
        super().__init__()
        self.linear = nn.Linear(object_dim, dim)
        self.mpi_attn = Attention(query_dim=dim, heads=heads, dim_head=head_dim)
        self.ff = FeedForward(dim, activation_fn="geglu")
        self.ff_k = FeedForward(dim, activation_fn="geglu")
        self.k_encoder = nn.Linear(2 * FOURIER_FREQUENCIES, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm_k = nn.LayerNorm(dim)
        self.alpha_attn = nn.Parameter(torch.tensor(0.0))
        self.alpha_dense = nn.Parameter(torch.tensor(0.0))
        self.level = level

    def forward(self, x: torch.Tensor, condition: FuserCondition) -> torch.Tensor:
        x = x + self.k_encoder(condition.strength_features.to(x.dtype))[:, None, :]
        h = self.norm1(x)
        if condition.objects is None:
            attended = self.mpi_attn(h)
        else:
            tokens, keep = self._object_tokens(condition, x.shape[1])
            context = torch.cat([h, self.norm1(tokens)], dim=1)
            mask = torch.cat([torch.ones_like(keep[:, : x.shape[1]]), keep[:, x.shape[1] :]], dim=1)
            attended = self.mpi_attn(h, encoder_hidden_states=context, attention_mask=mask[:, None, :])
        x_attn = x + self.alpha_attn.tanh() * attended
        # Both feed-forward terms read the same input and share ``ff``: that is
        # what the released model computes (``ff_k`` is trained but never used).
        gate = self.alpha_dense.tanh()
        return x_attn + gate * self.ff(self.norm2(x_attn)) + gate * self.ff(self.norm_k(x_attn))

    def _object_tokens(self, condition: FuserCondition, n_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        objects = condition.objects
        assert objects is not None and condition.plane_index is not None
        h, w = objects.shape[-2:]
        factor = max(1, round((h * w / n_tokens) ** 0.5))
        size = (h // factor, w // factor)
        if size[0] * size[1] != n_tokens:
            raise ValueError(f"fuser level {self.level}: {n_tokens} tokens do not match latent {h}x{w} / {factor}")
        objects = F.interpolate(objects, size=size, mode="bilinear", align_corners=False) if factor > 1 else objects
        visible = (condition.plane_index <= self.level).to(objects.dtype)
        visible = F.interpolate(visible, size=size, mode="bilinear", align_corners=False) if factor > 1 else visible
        tokens = self.linear(objects.flatten(2).transpose(1, 2))
        keep = torch.cat([torch.ones(objects.shape[0], n_tokens, dtype=torch.bool, device=objects.device),
                          visible.flatten(1) > 0.5], dim=1)
        return tokens, keep


class BokehTransformerBlock(BasicTransformerBlock):
    """diffusers' spatial block with a :class:`BokehFuser` in the GLIGEN slot.

    diffusers' block already calls ``self.fuser(hidden_states, objs)`` after
    self-attention when GLIGEN inputs are given; this subclass hands it the
    condition of the current UNet forward through that hook.
    """

    def __init__(self, dim: int, heads: int, head_dim: int, cross_attention_dim: int, object_dim: int, level: int) -> None:
        super().__init__(dim, heads, head_dim, cross_attention_dim=cross_attention_dim)
        self.fuser = BokehFuser(dim, object_dim, heads, head_dim, level)
        self.condition: FuserCondition | None = None

    def forward(self, hidden_states: torch.Tensor, *args, cross_attention_kwargs=None, **kwargs) -> torch.Tensor:  # type: ignore[override]
        if self.condition is None:
            raise RuntimeError("BokehTransformerBlock run outside BokehUNet.forward (no fuser condition)")
        extra = dict(cross_attention_kwargs or {})
        extra["gligen"] = {"objs": self.condition}
        return super().forward(hidden_states, *args, cross_attention_kwargs=extra, **kwargs)


class BokehUNet(UNetSpatioTemporalConditionModel):
    """SVD-XT UNet with the Any-to-Bokeh additions (same config as the base class)."""

    def __init__(self, **config) -> None:  # noqa: D401 - config keys are the base class's
        super().__init__(**config)
        object_dim = self.config.block_out_channels[0]
        self.conv_in_mpi = nn.Conv2d(self.config.in_channels // 2, object_dim, kernel_size=3, padding=1)
        last = len(self.down_blocks) - 1
        groups = [(i, block) for i, block in enumerate(self.down_blocks)]
        groups += [(last, self.mid_block)]
        groups += [(last - i, block) for i, block in enumerate(self.up_blocks)]
        self._bokeh_blocks: list[BokehTransformerBlock] = []
        for level, group in groups:
            for module in group.modules():
                if not isinstance(module, TransformerSpatioTemporalModel):
                    continue
                for j, old in enumerate(module.transformer_blocks):
                    new = BokehTransformerBlock(
                        module.inner_dim,
                        module.num_attention_heads,
                        module.attention_head_dim,
                        old.attn2.cross_attention_dim,
                        object_dim,
                        level,
                    )
                    module.transformer_blocks[j] = new
                    self._bokeh_blocks.append(new)

    # ``register_to_config`` on the base __init__ records the config; from_config
    # passes it back as keyword arguments, which **config forwards unchanged.

    @property
    def fuser_levels(self) -> list[int]:
        return [block.fuser.level for block in self._bokeh_blocks]

    def forward(  # type: ignore[override]
        self,
        sample: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        added_time_ids: torch.Tensor,
        strength_features: torch.Tensor,
        aif_latents: torch.Tensor | None = None,
        plane_index: torch.Tensor | None = None,
        timestep: float = 1.0,
    ) -> torch.Tensor:
        """One evaluation. Returns the clean bokeh latent (B, F, 4, h, w).

        sample:                (B, F, 8, h, w) [AIF latent, defocus latent], scaled.
        encoder_hidden_states: (B*F, 1, C) per-frame CLIP image embeddings (the
                               temporal layers use each clip's first frame).
        added_time_ids:        (B, 3) [fps - 1, motion bucket, noise aug].
        strength_features:     (B*F, 32) Fourier features of k.
        aif_latents/plane_index: only for MPI object attention.
        """
        batch, frames = sample.shape[:2]
        dtype = sample.dtype
        timesteps = torch.full((batch,), float(timestep), device=sample.device, dtype=torch.float32)
        emb = self.time_embedding(self.time_proj(timesteps).to(dtype))
        time_embeds = self.add_time_proj(added_time_ids.flatten()).reshape(batch, -1).to(emb.dtype)
        emb = (emb + self.add_embedding(time_embeds)).repeat_interleave(frames, dim=0)

        objects = None
        if aif_latents is not None:
            if plane_index is None:
                raise ValueError("MPI object attention needs plane_index")
            objects = self.conv_in_mpi(aif_latents.flatten(0, 1).to(dtype))
        condition = FuserCondition(strength_features, objects, plane_index)
        for block in self._bokeh_blocks:
            block.condition = condition
        try:
            return self._run_blocks(sample.flatten(0, 1), emb, encoder_hidden_states.to(dtype), batch, frames)
        finally:
            for block in self._bokeh_blocks:
                block.condition = None

    def _run_blocks(self, x: torch.Tensor, emb: torch.Tensor, context: torch.Tensor, batch: int, frames: int) -> torch.Tensor:
        x = self.conv_in(x)
        indicator = torch.zeros(batch, frames, dtype=x.dtype, device=x.device)
        skips: tuple[torch.Tensor, ...] = (x,)
        for block in self.down_blocks:
            if getattr(block, "has_cross_attention", False):
                x, res = block(hidden_states=x, temb=emb, encoder_hidden_states=context, image_only_indicator=indicator)
            else:
                x, res = block(hidden_states=x, temb=emb, image_only_indicator=indicator)
            skips += res
        x = self.mid_block(hidden_states=x, temb=emb, encoder_hidden_states=context, image_only_indicator=indicator)
        for block in self.up_blocks:
            res, skips = skips[-len(block.resnets) :], skips[: -len(block.resnets)]
            if getattr(block, "has_cross_attention", False):
                x = block(hidden_states=x, temb=emb, res_hidden_states_tuple=res,
                          encoder_hidden_states=context, image_only_indicator=indicator)
            else:
                x = block(hidden_states=x, temb=emb, res_hidden_states_tuple=res, image_only_indicator=indicator)
        x = self.conv_out(self.conv_act(self.conv_norm_out(x)))
        return x.reshape(batch, frames, *x.shape[1:])
