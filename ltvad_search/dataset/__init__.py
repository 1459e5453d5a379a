"""Dataset tools: human labels in and out, taxonomy pseudo-labels and their review, LoRA distillation."""
