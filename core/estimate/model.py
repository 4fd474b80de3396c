"""A monocular depth model loaded from a local folder, and running it.

The folder is a transformers model saved with ``save_pretrained``
(``config.json`` + weights) plus its image processor
(``preprocessor_config.json``): what ``focuspull models fetch`` puts there, or
a copy of ``depth-anything/Depth-Anything-V2-Small-hf``. Loading passes
``local_files_only``: rendering never touches the network.

Relative models (Depth Anything V2 Small/Base/Large) predict an
affine-invariant disparity (larger = nearer); metric ones predict metres,
which become 1/z here, so the rest of the path always sees disparity.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from focuspull.errors import WeightsError

if TYPE_CHECKING:
    import numpy as np
    import torch

log = logging.getLogger(__name__)

#: the default model: Apache-2.0, so renders with it may be used commercially
DEFAULT_MODEL = "depth-anything-v2-small"
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
#: a metric model's depth below this (metres) is treated as this, so 1/z stays finite
_MIN_METRIC_DEPTH = 1e-3


def resolve_model_folder(model: str | os.PathLike[str] | None = None) -> Path:
    """The folder to load: a registered name (``focuspull models``) or a folder path."""
    from focuspull.models import MODELS, MODELS_ENV, model_status

    name = DEFAULT_MODEL if model is None else os.fspath(model)
    if name in MODELS:
        status = model_status(name)
        if not status.present:
            entry = status.entry
            places = f"--depth-model DIR, ${entry.env_var} or ${MODELS_ENV}" if entry.env_var else \
                f"--depth-model DIR or ${MODELS_ENV}"
            licence = entry.licence + ("" if entry.commercial_use else ", NON-COMMERCIAL use only")
            raise WeightsError(
                f"depth model {name}: {status.path} ({status.origin}) "
                f"{'is missing' if not status.path.exists() else 'is incomplete'}. Fetch it once, online: "
                f"'focuspull models fetch {name}', or point {places} at a folder that holds it. Licence: {licence}"
            )
        folder = status.path
    else:
        folder = Path(name).expanduser()
        if not folder.is_dir():
            known = ", ".join(n for n in MODELS if n.startswith("depth-")) or "none registered"
            raise WeightsError(
                f"depth model {name!r} is neither a folder nor a known model name ({known}); "
                "see 'focuspull models'"
            )
    missing = [n for n in ("config.json", "preprocessor_config.json") if not (folder / n).is_file()]
    if not any((folder / n).is_file() or (folder / f"{n}.index.json").is_file() for n in _WEIGHTS):
        missing.append(" or ".join(_WEIGHTS))
    if missing:
        raise WeightsError(
            f"depth model folder {folder} is incomplete: missing {', '.join(missing)}. It must hold a transformers "
            "depth model saved with save_pretrained and its image processor, e.g. "
            "'focuspull models fetch depth-anything-v2-small' (run once, online)"
        )
    return folder


def model_signature(folder: Path) -> str:
    """A short hash of the model's config and weight files (name, size, mtime): what makes a result reusable."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        path = folder / name
        if not path.is_file():
            continue
        stat = path.stat()
        digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
        if name in ("config.json", "preprocessor_config.json"):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as err:
        raise ImportError("depth estimation needs transformers: pip install 'focuspull[depth]'") from err
    return transformers


def _processor_backend(transformers: Any) -> dict[str, str]:
    """transformers 5 prefers a torchvision image processor and warns when it falls
    back to PIL; without torchvision, ask for PIL (4.x picks it by itself)."""
    import importlib.util

    major = int(str(transformers.__version__).split(".")[0])
    if major >= 5 and importlib.util.find_spec("torchvision") is None:
        return {"backend": "pil"}
    return {}


class DepthEstimator:
    """A depth model on a device. ``predict`` takes display-referred 8-bit RGB frames."""

    def __init__(self, folder: str | os.PathLike[str], device: "torch.device | str" = "cpu") -> None:
        import torch

        transformers = _transformers()
        transformers.utils.logging.disable_progress_bar()
        self.folder = Path(folder)
        self.device = torch.device(device)
        try:
            self.processor = transformers.AutoImageProcessor.from_pretrained(
                str(self.folder), local_files_only=True, **_processor_backend(transformers)
            )
            model = transformers.AutoModelForDepthEstimation.from_pretrained(str(self.folder), local_files_only=True)
        except (OSError, ValueError, KeyError) as err:
            raise WeightsError(f"depth model {self.folder}: cannot load it with transformers: {err}") from err
        self.model = model.to(self.device).eval()
        config = model.config
        self.metric = getattr(config, "depth_estimation_type", "relative") == "metric"
        self.name = getattr(config, "_name_or_path", "") or self.folder.name
        log.info("depth model %s (%s, %s) on %s", self.folder, config.model_type,
                 "metric" if self.metric else "relative", self.device)

    def predict(self, images: Sequence["np.ndarray"]) -> "np.ndarray":
        """(B, h, w) float32 disparity (larger = nearer) at the model's working size.

        ``images``: (H, W, 3) uint8 RGB, all the same size. The working size
        is the processor's (e.g. 518 px on the short side, a multiple of 14);
        callers resample to the plate.
        """
        import numpy as np
        import torch

        inputs = self.processor(images=list(images), return_tensors="pt")
        pixel_values = inputs["pixel_values"].to(self.device)
        with torch.inference_mode():
            predicted = self.model(pixel_values=pixel_values).predicted_depth
        out = predicted.float().cpu().numpy().astype(np.float32)
        if out.ndim == 4:
            out = out[:, 0]
        if self.metric:
            out = 1.0 / np.maximum(out, _MIN_METRIC_DEPTH)
        return out

