"""SVD's temporal VAE with Any-to-Bokeh's encoder-to-decoder skip connections.

The decoder adds, before each of its up blocks, a 1x1 convolution of the
encoder activation at the same resolution (the input of the matching encoder
down block), so the fine detail of the all-in-focus frame reaches the output.
Names follow the released checkpoint: ``decoder.skip_conv_1`` (coarsest,
before up block 0) ... ``decoder.skip_conv_4`` (finest), 1x1, no bias. Their
widths are derived from ``block_out_channels`` (SVD: 512->512, 256->512,
128->512, 128->256).
"""

from __future__ import annotations

import torch
from diffusers.models.autoencoders.autoencoder_kl_temporal_decoder import AutoencoderKLTemporalDecoder
from torch import nn

__all__ = ["SkipVAE", "skip_widths"]


def skip_widths(block_out_channels: tuple[int, ...] | list[int]) -> list[tuple[int, int]]:
    """(in, out) channels of skip_conv_1.. for a VAE with these block widths.

    Encoder down block j reads block_out[max(j-1, 0)] channels; decoder up
    block i reads block_out[min(n-i, n-1)]. Up block i pairs with encoder
    block n-1-i, which works at the same resolution.
    """
    widths = list(block_out_channels)
    n = len(widths)
    encoder_in = [widths[max(j - 1, 0)] for j in range(n)]
    decoder_in = [widths[min(n - i, n - 1)] for i in range(n)]
    return [(encoder_in[n - 1 - i], decoder_in[i]) for i in range(n)]


class SkipVAE(AutoencoderKLTemporalDecoder):
    """``AutoencoderKLTemporalDecoder`` plus ``decoder.skip_conv_*`` (same config)."""

    def __init__(self, **config) -> None:
        super().__init__(**config)
        for i, (c_in, c_out) in enumerate(skip_widths(self.config.block_out_channels), start=1):
            conv = nn.Conv2d(c_in, c_out, kernel_size=1, bias=False)
            # Near zero, as the released training started: an untrained skip is a no-op.
            nn.init.constant_(conv.weight, 1e-5)
            self.decoder.add_module(f"skip_conv_{i}", conv)

    @property
    def skip_convs(self) -> list[nn.Conv2d]:
        return [getattr(self.decoder, f"skip_conv_{i}") for i in range(1, len(self.decoder.up_blocks) + 1)]

    def encode_with_skips(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Latent mean (N, 4, h, w), unscaled, and the encoder down-block inputs.

        ``images`` (N, 3, H, W) in -1..1. The mean, not a sample, so renders
        are deterministic.
        """
        enc = self.encoder
        x = enc.conv_in(images.to(enc.conv_in.weight.dtype))
        residuals = []
        for block in enc.down_blocks:
            residuals.append(x)
            x = block(x)
        x = enc.mid_block(x)
        x = enc.conv_out(enc.conv_act(enc.conv_norm_out(x)))
        moments = self.quant_conv(x)
        mean = moments[:, : self.config.latent_channels]
        return mean, residuals

    def encode_mean(self, images: torch.Tensor) -> torch.Tensor:
        """Latent mean only (for the defocus map, whose activations are not skipped)."""
        return self.encode_with_skips(images)[0]

    def decode_with_skips(self, latents: torch.Tensor, residuals: list[torch.Tensor]) -> torch.Tensor:
        """Decode N consecutive frames as one temporal chunk; returns (N, 3, H, W) in about -1..1.

        ``latents`` unscaled (N, 4, h, w); ``residuals`` the encoder inputs of
        the same N frames, as ``encode_with_skips`` returned them.
        """
        dec = self.decoder
        frames = latents.shape[0]
        dtype = dec.conv_in.weight.dtype
        x = dec.conv_in(latents.to(dtype))
        indicator = torch.zeros(1, frames, dtype=dtype, device=x.device)
        x = dec.mid_block(x, image_only_indicator=indicator)
        n = len(dec.up_blocks)
        for i, (block, skip) in enumerate(zip(dec.up_blocks, self.skip_convs)):
            x = x + skip(residuals[n - 1 - i].to(dtype))
            x = block(x, image_only_indicator=indicator)
        x = dec.conv_out(dec.conv_act(dec.conv_norm_out(x)))
        channels, height, width = x.shape[1:]
        x = x.reshape(1, frames, channels, height, width).permute(0, 2, 1, 3, 4)
        x = dec.time_conv_out(x)
        return x.permute(0, 2, 1, 3, 4).reshape(frames, channels, height, width)
