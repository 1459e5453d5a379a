"""The settings sections other than stage 2's: video, describer, store, index, search, run, labels,
distillation, Ray. Every field carries a description, which `ltvad config` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".gif")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VideoConfig(_Section):
    k: int = Field(2, ge=1, le=16, description="Non-overlapping segments per clip (paper: 2 is best).")
    fps: float = Field(2.0, gt=0, le=30, description="Frames sampled per second of video (paper: 2).")
    max_side: int | None = Field(
        448, ge=32, description="Resize sampled frames so the longer side is at most this many pixels."
    )
    extensions: tuple[str, ...] = Field(VIDEO_EXTENSIONS, description="File endings ingest picks up.")
    decoder: Literal["pyav", "decord"] = Field(
        "pyav", description="Frame sampler: pyav (planned seeks, fastest here) or decord."
    )

    @field_validator("extensions")
    @classmethod
    def _lower(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in v)


class DescriberConfig(_Section):
    backend: str = Field("cpu", description="Stage-1 backend: cpu (object detector and pixel cues), cpu-basic "
                         "(pixel cues only, no weights), import, openai, vllm, hf.")
    model: str | None = Field(None, description="Model id or path (backend default when unset).")
    prompt: str = Field("describe", description="Prompt template id in prompts/.")
    base_url: str | None = Field(None, description="OpenAI-compatible server URL (openai backend).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key.")
    max_frames: int = Field(32, ge=1, description="At most this many frames per segment are sent.")
    frames_as: Literal["images", "video"] = Field(
        "images", description="openai backend: frames as image parts, or one video part with fps (vLLM)."
    )
    max_tokens: int = Field(256, ge=1, description="Longest description generated.")
    import_path: Path | None = Field(None, description="JSONL of {segment_id, text} (import backend).")
    adapter: Path | None = Field(None, description="LoRA adapter directory to load on the base model.")
    timeout_s: float = Field(120.0, gt=0, description="Per-request timeout for remote backends.")
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs per model (vllm).")


# Named stage-2 configurations (`--set scorer.preset=NAME`); keys given explicitly still win. "checklist"
# is the default's own settings and "paper" the paper's, so ablations can name either;
# bench/bench_scorers.py measures each.
class StoreConfig(_Section):
    root: Path = Field(Path("index_store"), description="Folder holding catalog.sqlite and the index.")

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def score_cache(self) -> Path:
        return self.root / "score_cache.sqlite"

    @property
    def query_cache(self) -> Path:
        return self.root / "query_cache.sqlite"

    @property
    def embedders(self) -> Path:
        """Adapted embedding models (`ltvad index --adapt`), beside the index that uses them."""
        return self.root / "embedders"


class AdaptConfig(_Section):
    """`ltvad index --adapt`: fine-tune the embedder on search queries the scorer's LLM writes for the
    store's own descriptions (indexer/adapt). No label is read."""

    queries: int = Field(3, ge=1, le=8, description="Queries written per distinct description.")
    epochs: int = Field(3, ge=1, description="Passes over the (query, description) pairs.")
    batch_size: int = Field(32, ge=2, description="Pairs per step; the others in a batch are its negatives.")
    learning_rate: float = Field(2e-5, gt=0, description="AdamW learning rate.")
    hard_negatives: bool = Field(True, description="Add, per query, the other description BM25 ranks first.")
    seed: int = Field(0, description="Shuffling and initialisation seed (the same queries and seed give the "
                      "same model).")


class IndexConfig(_Section):
    model: str | None = Field(None, description="sentence-transformers model id or path (default all-MiniLM-L6-v2).")
    kind: Literal["flat", "hnsw", "ivf", "ivfpq"] = Field(
        "flat", description="Exact search, or HNSW / IVF / IVF-PQ for large collections.")
    sentences: bool = Field(True, description="Also index each sentence, so a buried one can be found.")
    m: int = Field(32, ge=4, description="HNSW neighbours per node.")
    ef_search: int = Field(64, ge=8, description="HNSW search breadth (higher: better recall, slower).")
    nlist: int | None = Field(None, ge=1, description="IVF lists (default about 4 sqrt(n)).")
    pq_m: int = Field(48, ge=1, description="IVF-PQ sub-quantizers (must divide the dimension).")
    nprobe: int = Field(32, ge=1, description="IVF lists visited per query.")
    adapt: AdaptConfig = AdaptConfig()

    @property
    def params(self) -> dict[str, int]:
        out = {"m": self.m, "ef_search": self.ef_search, "pq_m": self.pq_m, "nprobe": self.nprobe}
        return out | ({"nlist": self.nlist} if self.nlist else {})


class SearchConfig(_Section):
    """How free-text search ranks segments (`ltvad search`, `top --query`, the UI's Search page)."""

    mode: Literal["hybrid", "dense", "lexical"] = Field(
        "hybrid", description="hybrid: embedding and BM25 rankings fused; dense or lexical alone, for comparison.")
    rrf_k: int = Field(5, ge=1, description="Reciprocal rank fusion constant: 1/(k + rank) per ranking (small: "
                       "the first few places of each ranking count most).")
    candidates: int = Field(200, ge=10, description="Rows each ranking contributes before fusion.")
    category_weight: float = Field(
        8.0, ge=0, description="Boost for segments whose checklist answer agrees with the category a query names "
        "(or --category), in units of a first-place vote of one ranking.")
    category_words_weight: float = Field(
        0.3, ge=0, description="Reading a query's category: weight of the share of its words a category's "
        "descriptors hold, beside their embedding similarity (indexer/categories.py).")
    category_feedback_weight: float = Field(
        1.0, ge=0, description="Reading a query's category: weight of how much likelier its top 10 text matches are "
        "than the other candidates to answer Yes to the category's checklist questions.")
    order: Literal["relevance", "long-tail"] = Field(
        "relevance", description="relevance, or long-tail: the relevant hits ordered by relevance and long-tail "
        "score together.")
    parse: bool = Field(True, description="Read negations (\"not ...\", \"without ...\") and filters (score, "
                        "category, clip, time in the clip) out of the query (indexer/query.py); false: one bag of "
                        "words, as before.")
    negation_weight: float = Field(
        1.0, ge=0, description="How much a hit's similarity to a negated phrase is subtracted from its similarity "
        "to the query in the dense ranking (hits containing the negated words go last in any case).")
    similar_answers_weight: float = Field(
        1.0, ge=0, description="\"More like this\": weight of the similarity of two segments' checklist answers "
        "(every question's score) beside their descriptions' (0: descriptions alone).")


class RunConfig(_Section):
    batch_size: int = Field(8, ge=1, description="Items per backend call and per store transaction.")
    retries: int = Field(3, ge=0, description="Retries with backoff for transient backend errors.")


class LabelConfig(_Section):
    """Pseudo-labeling with the taxonomy prompt, and the human review that follows it."""

    prompt: str = Field("label_description", description="Labeling prompt for stored descriptions (scorer backend).")
    video_prompt: str = Field("label_video", description="Labeling prompt for video (describer backend, --video).")
    max_tokens: int = Field(32, ge=4, description="Longest answer generated.")
    constrain: bool = Field(True, description="Hold answers to the label grammar where the backend can (llamacpp, "
                            "openai with scorer.openai.constrain=grammar).")
    audit_rate: float = Field(0.1, ge=0, le=1, description="Share of pseudo-'no' clips drawn for human audit.")
    seed: int = Field(0, description="Seed of the audit sample and of balanced exports.")


class DistillConfig(_Section):
    """LoRA fine-tuning of the student describer on a teacher's descriptions (paper defaults)."""

    student: str | None = Field(None, description="Student model (hub id or path) to fine-tune; "
                                "default describer.model.")
    rank: int = Field(64, ge=1, description="LoRA rank (paper: 64).")
    alpha: int = Field(64, ge=1, description="LoRA alpha (paper: 64).")
    dropout: float = Field(0.05, ge=0, lt=1, description="LoRA dropout.")
    epochs: int = Field(2, ge=1, description="Passes over the pairs (paper: 2).")
    learning_rate: float = Field(1e-4, gt=0, description="AdamW learning rate.")
    grad_accum: int = Field(8, ge=1, description="Pairs per optimizer step.")
    max_frames: int = Field(16, ge=1, description="Frames per pair (fewer than at inference keeps memory in check).")
    target_modules: str = Field(
        r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)",
        description="Regex of the modules given LoRA weights (the language model's projections).")
    seed: int = Field(0, description="Shuffling and initialisation seed.")


class RayConfig(_Section):
    """How `ltvad run --engine ray` lays the stages out on a cluster (see README, Scale-out)."""

    address: str | None = Field(None, description="Cluster to join (e.g. auto or ray://head:10001); "
                                "unset starts a local one.")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of the local cluster when none is joined.")
    shards: Path | None = Field(None, description="Where workers write result shards (a shared path on a "
                                "cluster); default <store.root>/shards.")
    describe_workers: int = Field(1, ge=1, description="Describer actors (each loads the model once).")
    describe_gpus: float = Field(0, ge=0, description="GPUs per describer actor (vllm: tensor_parallel_size).")
    describe_cpus: float = Field(1, ge=0, description="CPUs per describer actor.")
    describe_memory_gb: float | None = Field(None, gt=0, description="Memory reserved per describer actor.")
    score_workers: int = Field(1, ge=1, description="Scorer actors (each loads the model once).")
    score_gpus: float = Field(0, ge=0, description="GPUs per scorer actor (vllm: tensor_parallel_size).")
    score_cpus: float = Field(1, ge=0, description="CPUs per scorer actor.")
    score_memory_gb: float | None = Field(None, gt=0, description="Memory reserved per scorer actor.")
    decode_cpus: float = Field(1, gt=0, description="CPUs per probe/decode task.")
    max_restarts: int = Field(3, ge=0, description="Restarts of a crashed actor before its rows fail.")
    task_retries: int = Field(3, ge=0, description="Retries of a task lost to a crashed worker.")
