"""The local models folder: where downloaded weights live and what is there.

focuspull never downloads weights at render time. Each model the tools can
use is described by a :class:`ModelEntry` in :data:`MODELS` (add entries with
:func:`register_model`); ``focuspull models`` lists them with what is present.

A model's folder is, in order: an explicit folder (``--weights DIR`` / an
engine option), the model's own environment variable (e.g.
``$FOCUSPULL_WEIGHTS`` for Any-to-Bokeh), ``$FOCUSPULL_MODELS/<folder>``,
then ``~/.cache/focuspull/models/<folder>``.

This module only looks at files; it imports neither torch nor a model library.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from focuspull.errors import WeightsError

__all__ = [
    "MODELS",
    "ModelEntry",
    "ModelPart",
    "ModelStatus",
    "model_folder",
    "model_status",
    "models_root",
    "installed_models",
    "register_model",
    "require_model",
    "require_model_status",
]

log = logging.getLogger(__name__)

MODELS_ENV = "FOCUSPULL_MODELS"


@dataclass(frozen=True)
class ModelPart:
    """A sub-folder of a model and the files that prove it is there.

    ``files``: each item is a group of alternatives; the part is present when
    every group has at least one existing file (e.g. safetensors or bin).
    ``also_in``: other sub-folders where the part is accepted as it comes
    out of a download (e.g. the Any-to-Bokeh release nests its UNet in
    ``unet/unet/``); ``folder`` is checked first and is where a missing part
    should go.
    """

    folder: str
    description: str
    files: tuple[tuple[str, ...], ...]
    source: str = ""
    also_in: tuple[str, ...] = ()

    @property
    def folders(self) -> tuple[str, ...]:
        return (self.folder, *self.also_in)

    def locate(self, root: Path) -> Path | None:
        """The first of :attr:`folders` (under ``root``) that holds every file group, or None."""
        for sub in self.folders:
            if not self._missing_in(root, sub):
                return root / sub if sub else root
        return None

    def missing_files(self, root: Path) -> list[str]:
        """Files still needed, relative to ``root`` (empty when the part is present).

        Named in the folder that holds most of the part already (a half
        copied ``unet/unet/`` is reported there), else in :attr:`folder`.
        """
        if self.locate(root) is not None:
            return []
        candidates = [self._missing_in(root, sub) for sub in self.folders]
        return min(candidates, key=len)  # the first (canonical) folder wins a tie

    def describe_missing(self, root: Path) -> list[str]:
        """:meth:`missing_files` as full paths, each with the other file names that would do."""
        out = []
        for name in self.missing_files(root):
            first = name.rsplit("/", 1)[-1]
            others = next((g[1:] for g in self.files if g[0] == first), ())
            out.append(str(root / name) + (f" (or {', '.join(others)})" if others else ""))
        return out

    def _missing_in(self, root: Path, sub: str) -> list[str]:
        base = root / sub if sub else root
        missing = []
        for group in self.files:
            if not any((base / name).is_file() or _has_shards(base, name) for name in group):
                missing.append(f"{sub}/{group[0]}" if sub else group[0])
        return missing


@dataclass(frozen=True)
class ModelEntry:
    """A model that focuspull can use, and how a user gets it."""

    name: str
    title: str
    folder: str
    used_by: str
    licence: str
    parts: tuple[ModelPart, ...]
    download: str
    env_var: str | None = None
    commercial_use: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ModelStatus:
    entry: ModelEntry
    path: Path
    origin: str
    missing: tuple[str, ...]
    located: tuple[tuple[str, Path], ...] = ()  # (part folder, where it was found) for the parts present

    @property
    def present(self) -> bool:
        return not self.missing

    @property
    def partial(self) -> bool:
        return bool(self.missing) and len(self.missing) < sum(len(p.files) for p in self.entry.parts)

    def part_path(self, folder: str) -> Path:
        """Where part ``folder`` (e.g. "unet") was found; the loaders read from here."""
        for name, path in self.located:
            if name == folder:
                return path
        raise WeightsError(f"{self.entry.title}: {self.path / folder} is missing")

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.entry.name,
            "title": self.entry.title,
            "used_by": self.entry.used_by,
            "path": str(self.path),
            "origin": self.origin,
            "present": self.present,
            "missing": list(self.missing),
            "found": {name: str(path) for name, path in self.located},
            "licence": self.entry.licence,
            "commercial_use": self.entry.commercial_use,
        }


MODELS: dict[str, ModelEntry] = {}


def register_model(entry: ModelEntry) -> ModelEntry:
    """Add (or replace) a model in the registry; returns it."""
    MODELS[entry.name] = entry
    return entry


def models_root() -> Path:
    """``$FOCUSPULL_MODELS``, else ``~/.cache/focuspull/models``."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "focuspull" / "models"


def model_folder(name: str, explicit: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The folder of model ``name`` and where that choice came from."""
    entry = _entry(name)
    if explicit:
        return Path(explicit).expanduser(), "--weights"
    if entry.env_var and os.environ.get(entry.env_var):
        return Path(os.environ[entry.env_var]).expanduser(), f"${entry.env_var}"
    if os.environ.get(MODELS_ENV):
        return models_root() / entry.folder, f"${MODELS_ENV}"
    return models_root() / entry.folder, "default models folder"


def model_status(name: str, explicit: str | os.PathLike[str] | None = None) -> ModelStatus:
    entry = _entry(name)
    path, origin = model_folder(name, explicit)
    missing: list[str] = []
    located: list[tuple[str, Path]] = []
    for part in entry.parts:
        found = part.locate(path)
        if found is None:
            missing += part.missing_files(path)
        else:
            located.append((part.folder, found))
    return ModelStatus(entry, path, origin, tuple(missing), tuple(located))


def installed_models(explicit: dict[str, str] | None = None) -> list[ModelStatus]:
    """Status of every registered model (``explicit``: name -> folder overrides)."""
    explicit = explicit or {}
    return [model_status(name, explicit.get(name)) for name in MODELS]


def require_model(name: str, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The folder of a complete model, or a :class:`WeightsError` saying what to get and where."""
    return require_model_status(name, explicit).path


def require_model_status(name: str, explicit: str | os.PathLike[str] | None = None) -> ModelStatus:
    """The status of a complete model (where each part was found), or the :class:`WeightsError` of :func:`require_model`."""
    status = model_status(name, explicit)
    if status.present:
        return status
    entry = status.entry
    what = "is missing" if not status.path.exists() else f"is incomplete (missing {', '.join(status.missing)})"
    layout = "\n".join(f"  {status.path / p.folder}/  {p.description}" + (f" [{p.source}]" if p.source else "")
                       + _also_in(p) for p in entry.parts)
    env_hint = f"--weights DIR, ${entry.env_var}, " if entry.env_var else "--weights DIR, "
    licence = (
        f"Licence: {entry.licence}. NON-COMMERCIAL use only; focuspull does not bundle or download these weights."
        if not entry.commercial_use
        else f"Licence: {entry.licence}."
    )
    raise WeightsError(
        f"{entry.title} weights: {status.path} ({status.origin}) {what}.\n"
        f"Download: {entry.download}\n"
        f"Put them here (or point {env_hint}or ${MODELS_ENV} at another folder):\n{layout}\n"
        f"{licence}"
    )


def _also_in(part: ModelPart) -> str:
    return f" (also found as {', '.join(f + '/' for f in part.also_in)})" if part.also_in else ""


def _entry(name: str) -> ModelEntry:
    try:
        return MODELS[name]
    except KeyError:
        raise WeightsError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None


def _has_shards(base: Path, name: str) -> bool:
    """True for a sharded checkpoint: ``name`` plus ``.index.json`` next to it."""
    return (base / f"{name}.index.json").is_file()


_DIFFUSERS_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin",
                      "diffusion_pytorch_model.fp16.safetensors")

#: Where SVD-XT's parts are also found: inside a whole download of its Hugging Face repository.
_SVD_XT_FOLDERS = ("stable-video-diffusion-img2vid-xt", "svd-xt")

ANY_TO_BOKEH = register_model(
    ModelEntry(
        name="any-to-bokeh",
        title="Any-to-Bokeh (neural engine)",
        folder="any-to-bokeh",
        used_by="engine: neural",
        env_var="FOCUSPULL_WEIGHTS",
        licence="CC BY-NC 4.0 (Any-to-Bokeh checkpoints) on top of the Stability AI community licence of SVD-XT",
        download=(
            "the release's checkpoints/ folder (unet/unet/ and vae/) from https://github.com/vivoCameraResearch/any-to-bokeh "
            "(checkpoint link in its README); image_encoder/ and feature_extractor/ from a local copy of "
            "https://huggingface.co/stabilityai/stable-video-diffusion-img2vid-xt (the whole copy may sit in the folder "
            "as stable-video-diffusion-img2vid-xt/)"
        ),
        parts=(
            # The release nests its UNet as checkpoints/unet/unet/ (the demo loads it with subfolder="unet").
            ModelPart("unet", "Any-to-Bokeh UNet (config.json + weights)", (("config.json",), _DIFFUSERS_WEIGHTS),
                      "Any-to-Bokeh release", also_in=("unet/unet",)),
            ModelPart("vae", "Any-to-Bokeh temporal VAE with skip convolutions", (("config.json",), _DIFFUSERS_WEIGHTS),
                      "Any-to-Bokeh release"),
            # SVD-XT ships the encoder as fp32 and fp16 variant; either one alone is enough.
            ModelPart("image_encoder", "CLIP ViT-H image encoder",
                      (("config.json",), ("model.safetensors", "model.fp16.safetensors", "pytorch_model.bin")),
                      "SVD-XT", also_in=tuple(f"{f}/image_encoder" for f in _SVD_XT_FOLDERS)),
            ModelPart("feature_extractor", "CLIP image processor settings", (("preprocessor_config.json",),), "SVD-XT",
                      also_in=tuple(f"{f}/feature_extractor" for f in _SVD_XT_FOLDERS)),
        ),
    )
)


# Depth Anything V2 (depth estimated from the plate). transformers format:
# config.json + model.safetensors + preprocessor_config.json in one folder.
_DEPTH_FILES = (("config.json",), ("model.safetensors", "pytorch_model.bin"), ("preprocessor_config.json",))


def _depth_anything(size: str, licence: str, commercial: bool, env_var: str | None = None) -> ModelEntry:
    repo = f"depth-anything/Depth-Anything-V2-{size}-hf"
    return register_model(
        ModelEntry(
            name=f"depth-anything-v2-{size.lower()}",
            title=f"Depth Anything V2 {size} (depth estimated from the plate)",
            folder=f"depth-anything-v2-{size.lower()}",
            used_by="depth: estimate" + (" (default)" if size == "Small" else ""),
            env_var=env_var,
            licence=licence,
            commercial_use=commercial,
            download=f"focuspull models fetch depth-anything-v2-{size.lower()}  (https://huggingface.co/{repo})",
            parts=(ModelPart("", "transformers depth model and its image processor", _DEPTH_FILES, repo),),
        )
    )


DEPTH_ANYTHING_V2_SMALL = _depth_anything("Small", "Apache-2.0", True, env_var="FOCUSPULL_DEPTH_MODEL")
DEPTH_ANYTHING_V2_BASE = _depth_anything("Base", "CC-BY-NC-4.0", False)
DEPTH_ANYTHING_V2_LARGE = _depth_anything("Large", "CC-BY-NC-4.0", False)
