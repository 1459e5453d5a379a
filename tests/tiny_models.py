"""Tiny random-weight transformers models built on the spot: nothing is downloaded.

A word-level tokenizer over the prompts' own words (digits and punctuation one token each), a
2-layer Llama for the scorer, and a LLaVA (CLIP vision tower + the same Llama) for the describer
and for distillation. Weights are random, so outputs are noise, but every code path runs for real.
"""

from __future__ import annotations

import re
from pathlib import Path

from ltvad_search.prompts import PROMPTS_DIR

SPECIAL = ["<unk>", "<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|end|>", "<image>"]
CHAT = ("{% for m in messages %}<|user|> {% if m['content'] is string %}{{ m['content'] }}{% else %}"
        "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>{% else %}{{ c['text'] }}{% endif %}"
        "{% endfor %}{% endif %} <|end|> {% endfor %}{% if add_generation_prompt %}<|assistant|> {% endif %}")
EXTRA_WORDS = ("the car drives stops slows brakes a pedestrian crosses road snow police light red blue "
               "lane truck cyclist deer construction cones worker highway night rain fog")


def tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    text = " ".join(p.read_text() for p in PROMPTS_DIR.glob("*")) + " " + EXTRA_WORDS
    words = sorted(set(re.findall(r"[A-Za-z]+|[^\sA-Za-z0-9]", text)) | set("0123456789"))
    vocab = {tok: i for i, tok in enumerate([*SPECIAL, *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation(), pre_tokenizers.Digits(individual_digits=True)])
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", additional_special_tokens=SPECIAL[4:])
    fast.chat_template = CHAT
    return fast


def _llama_config(vocab_size: int):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
                       pad_token_id=1, bos_token_id=2, eos_token_id=3, tie_word_embeddings=False)


def save_tiny_llm(folder: Path) -> Path:
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    tok = tokenizer()
    LlamaForCausalLM(_llama_config(len(tok))).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def save_tiny_vlm(folder: Path) -> Path:
    import torch
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    torch.manual_seed(0)
    tok = tokenizer()
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              image_size=32, patch_size=8, projection_dim=32)
    config = LlavaConfig(vision_config=vision, text_config=_llama_config(len(tok)),
                         image_token_index=tok.convert_tokens_to_ids("<image>"),
                         vision_feature_select_strategy="default", vision_feature_layer=-1)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tok, patch_size=8, vision_feature_select_strategy="default", image_token="<image>",
        num_additional_image_tokens=1, chat_template=CHAT)
    processor.save_pretrained(folder)
    return folder
