"""Stage 2 on a local GGUF: the llama.cpp scorer, its batched questions (one context, many sequences),
and the int8 engine that runs those batches on the same weights in torch."""
