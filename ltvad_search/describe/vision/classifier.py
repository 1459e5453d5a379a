"""A second look at detected road users: EfficientNet-Lite3 (ImageNet) on the detector's crops.

COCO calls an ambulance a truck and has no deer; ImageNet has ambulance, police van, fire engine,
tow truck, snowplow, tractor, horse cart, moped and many animals. Classifying the crop of a detected
vehicle or animal tells those apart. Only the classes in `TELLING` are ever reported, and always as
the classifier's guess with its confidence, never as a fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ltvad_search.describe.vision import weights

SIZE = 280  # EfficientNet-Lite3's input side

# ImageNet class (first name in the label file) -> what a description calls it
TELLING: dict[str, str] = {
    **{name: name for name in ("ambulance", "police van", "fire engine", "tow truck", "garbage truck", "snowplow",
                               "tractor", "harvester", "forklift", "go-kart", "horse cart", "oxcart", "moped",
                               "motor scooter", "school bus", "streetcar", "mobile home", "shopping cart",
                               "tricycle", "unicycle", "ox", "water buffalo", "bison", "llama", "ram", "bighorn",
                               "ibex", "hartebeest", "impala", "gazelle", "coyote", "red fox", "grey fox")},
    "jinrikisha": "rickshaw", "barrow": "wheelbarrow", "sorrel": "horse", "timber wolf": "wolf",
    "fox squirrel": "squirrel",
}
DOGS = range(151, 269)  # ImageNet's dog breeds, reported as "dog"


@dataclass(frozen=True, slots=True)
class Guess:
    """The classifier's best telling class for a crop, and its probability."""

    name: str
    probability: float


class CropClassifier:
    name = "efficientnet-lite3-imagenet"

    def __init__(self, threads: int = 2) -> None:
        from ltvad_search.extras import require

        litert = require("ai_edge_litert.interpreter", extra=weights.EXTRA, backend="cpu")
        self._model = litert.Interpreter(model_path=str(weights.path(weights.EFFICIENTNET)), num_threads=threads)
        self._model.allocate_tensors()
        self._input = self._model.get_input_details()[0]
        self._output = self._model.get_output_details()[0]

    @cached_property
    def labels(self) -> list[str]:
        lines = weights.path(weights.IMAGENET_LABELS).read_text().splitlines()
        return [line.split(",")[0].strip() for line in lines]

    def probabilities(self, crop: np.ndarray) -> np.ndarray:
        """ImageNet probabilities (1000) of an RGB crop."""
        import cv2

        x = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)[None].astype(np.uint8)
        self._model.set_tensor(self._input["index"], x)
        self._model.invoke()
        scale, zero = self._output["quantization"]
        return (self._model.get_tensor(self._output["index"])[0].astype(np.float32) - zero) * scale

    def guess(self, crop: np.ndarray, *, animal: bool = False, min_probability: float = 0.4) -> Guess | None:
        """The likeliest telling class when it reaches `min_probability`. For a crop the detector
        called an animal, ImageNet's dog breeds count together as "dog" (on a vehicle's crop their
        summed small probabilities mean nothing)."""
        p = self.probabilities(crop)
        best = int(np.argmax(p))
        name = TELLING.get(self.labels[best])
        dog = float(p[list(DOGS)].sum())
        if animal and dog > p[best] and dog >= min_probability:
            return Guess("dog", dog)
        if name is None or p[best] < min_probability:
            return None
        return Guess(name, float(p[best]))
