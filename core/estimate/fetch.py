"""Download a depth model into the models folder: only when a user asks.

``focuspull models fetch depth-anything-v2-small`` calls :func:`fetch_model`
once, online; renders then load the folder with ``local_files_only``. This is
the only place in focuspull that reaches the network for depth models, and it
cannot be tested offline: keep it this small.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from focuspull.errors import WeightsError

log = logging.getLogger(__name__)

#: model name -> Hugging Face repository (transformers format)
REPOSITORIES = {
    "depth-anything-v2-small": "depth-anything/Depth-Anything-V2-Small-hf",
    "depth-anything-v2-base": "depth-anything/Depth-Anything-V2-Base-hf",
    "depth-anything-v2-large": "depth-anything/Depth-Anything-V2-Large-hf",
}
#: what a depth model folder needs (no other revisions, no ONNX, no README images)
FILES = ["config.json", "preprocessor_config.json", "model.safetensors"]


def fetch_model(name: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Download model ``name`` into ``folder`` (default: its folder in the models root)."""
    from focuspull.models import MODELS, model_folder

    if name not in REPOSITORIES:
        raise WeightsError(f"cannot fetch {name!r}: known depth models are {', '.join(REPOSITORIES)}")
    entry = MODELS.get(name)
    target = Path(folder).expanduser() if folder else model_folder(name)[0]
    try:
        from huggingface_hub import snapshot_download
    except ImportError as err:
        raise ImportError("fetching models needs huggingface_hub: pip install 'focuspull[depth]'") from err
    if entry is not None and not entry.commercial_use:
        log.warning("%s: licence %s: NON-COMMERCIAL use only", name, entry.licence)
    log.info("fetching %s into %s", REPOSITORIES[name], target)
    target.mkdir(parents=True, exist_ok=True)
    snapshot_download(repo_id=REPOSITORIES[name], local_dir=str(target), allow_patterns=FILES)
    return target
