"""Search over the catalog's descriptions: by words, by example, and narrowing the ranked list.

The index holds the descriptions of one describer (the latest run's); hits are joined back to the
catalog for the clip, the time span, the description and the long-tail score of that run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from indexer.categories import QueryCategories, agreement, question_categories
from indexer.index import VectorIndex
from indexer.rerank import Reranked, rerank
from ltvad_search import prompts
from ltvad_search.catalog import Catalog
from ltvad_search.config import Settings
from ltvad_search.models.embed import DEFAULT_MODEL, Embedder
from ltvad_search.score.base import YesNoJudge
from ltvad_search.score.cache import ScoreCache
from ltvad_search.score.scorers.checklist import likeliest
from ltvad_search.score.units import split_sentences


@dataclass(frozen=True, slots=True)
class Hit:
    segment_id: str
    clip_id: str
    source: str
    start_s: float
    end_s: float
    similarity: float  # the relevance the hits are ordered by (cosine similarity, or fused rank score)
    score: float | None
    description: str
    category: int | None
    most_likely: tuple[str, float] | None = None  # the checklist question behind the score, and its value


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    added: int
    removed: int
    total: int


SENTENCE_MARK = "#"  # row id of a sentence: "<segment id>#<n>"


def model_name(settings: Settings) -> str:
    return settings.index.model or DEFAULT_MODEL


def passages(segment_id: str, text: str, sentences: bool) -> list[tuple[str, str]]:
    """The rows a description is indexed as: the whole text, and each sentence when it has several.

    Real descriptions are paragraphs whose one telling sentence is buried among routine ones; a
    query matched against that sentence alone finds it (precision@10 on the textbench goes from
    0.24 to 0.36, bench/bench_retrieval.py).
    """
    rows = [(segment_id, text)]
    if sentences:
        parts = split_sentences(text)
        if len(parts) > 1:
            rows += [(f"{segment_id}{SENTENCE_MARK}{n}", part) for n, part in enumerate(parts)]
    return rows


def base_id(row_id: str) -> str:
    return row_id.split(SENTENCE_MARK, 1)[0]


def update_index(catalog: Catalog, settings: Settings, embedder: Embedder, describer: str, k: int, *,
                 rebuild: bool = False, progress: Callable[[int, int], None] | None = None) -> IndexUpdate:
    """Embed every described segment not yet indexed, drop those whose clips are gone, save."""
    folder = settings.store.index
    index = None
    if not rebuild and (folder / "CURRENT").exists():
        # an index that does not match the configured model or describer is refused, never replaced
        index = VectorIndex.load(folder, embedding_model=embedder.name, describer=describer)
    if index is None:
        index = VectorIndex.empty(embedder.name, embedder.dim, describer, settings.index.kind, settings.index.params)
    descriptions = catalog.descriptions(describer, k)
    wanted = {d.segment_id for d in descriptions}
    new = [d for d in descriptions if d.segment_id not in index]
    gone = {base_id(r) for r in index.ids} - wanted
    index.remove([r for r in index.ids if base_id(r) in gone])
    legacy = len(index) > 0 and not index.manifest.lexical  # built before the lexical half existed
    if legacy:
        index.attach_texts([row for d in descriptions if d.segment_id in index
                            for row in passages(d.segment_id, d.text, settings.index.sentences)])
    rows = [row for d in new for row in passages(d.segment_id, d.text, settings.index.sentences)]
    if rows:
        index.add([r for r, _ in rows], embedder.encode([t for _, t in rows], progress=progress), [t for _, t in rows])
    if new or gone or rebuild or legacy or not (folder / "CURRENT").exists():
        index.save(folder)
    return IndexUpdate(added=len(new), removed=len(gone), total=len({base_id(r) for r in index.ids}))


def rows_by_segment(index: VectorIndex) -> dict[str, list[int]]:
    """Segment id -> its rows in the index, the whole description first."""
    rows: dict[str, list[int]] = {}
    for i, row_id in enumerate(index.ids):
        rows.setdefault(base_id(row_id), []).append(i)
    return rows


def segment_similarity(index: VectorIndex, rows: dict[str, list[int]], query: np.ndarray,
                       candidates: list[str]) -> list[tuple[str, float]]:
    """Exact similarity of each candidate segment, best first: the mean of its whole-description
    match and its best sentence's (the whole alone when it has one sentence)."""
    scored = []
    for sid in dict.fromkeys(candidates):
        own = rows.get(sid)
        if not own:
            continue
        sims = index.vectors[own] @ query
        whole, parts = float(sims[0]), sims[1:]
        scored.append((sid, whole if len(parts) == 0 else 0.5 * whole + 0.5 * float(parts.max())))
    scored.sort(key=lambda it: -it[1])
    return scored


def best_per_segment(rows: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Row hits (a description or one of its sentences) as segment hits: each segment's best row."""
    best: dict[str, float] = {}
    for row_id, value in rows:
        sid = base_id(row_id)
        best[sid] = max(value, best.get(sid, float("-inf")))
    return sorted(best.items(), key=lambda it: -it[1])


def fuse(rankings: list[list[tuple[str, float]]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: each ranking gives an item 1/(k + rank); a rank-based sum needs no
    common scale between cosine similarities and BM25 scores."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, (sid, _) in enumerate(ranking, 1):
            fused[sid] = fused.get(sid, 0.0) + 1.0 / (k + rank)
    return fused


@dataclass(frozen=True, slots=True)
class Ranked:
    """A query's candidate segments with their relevance, before they are joined to the catalog."""

    relevance: dict[str, float]
    category: int | None  # the category the query named (or --category), used for the boost


class Searcher:
    """Loaded once per process (the UI keeps one); a query is an embedding, a FAISS lookup and a BM25
    lookup, fused, then joined to the catalog."""

    def __init__(self, catalog: Catalog, settings: Settings, describer: str, scorer: str,
                 embedder: Embedder | None = None, index: VectorIndex | None = None) -> None:
        self.catalog, self.describer, self.scorer = catalog, describer, scorer
        self.settings = settings.search
        self.threshold = settings.scorer.threshold
        self.embedder = embedder or Embedder(settings.index.model)
        self.index = index or VectorIndex.load(settings.store.index, embedding_model=self.embedder.name,
                                               describer=describer)
        self._rows = rows_by_segment(self.index)
        self._lexical = self.index.lexical_index() if self.settings.mode != "dense" else None
        self._checklist = _checklist_of(scorer)
        self._questions = question_categories(self._checklist)
        self._categories: QueryCategories | None = None
        self._beside: ThreadPoolExecutor | None = None
        self.last_rerank: Reranked | None = None  # what the latest text() re-ranked, when it did

    def query_category(self, query_vector: np.ndarray) -> int | None:
        if self._categories is None:
            self._categories = QueryCategories(self.embedder, self._checklist)
        guess = self._categories.guess(query_vector)
        return None if guess is None else guess.category

    def rank(self, query: str, *, category: int | None = None, mode: str | None = None,
             fetch: int | None = None) -> Ranked:
        """Relevance of the candidate segments for a query: dense and lexical rankings fused, then
        the category's checklist agreement added."""
        mode = mode or self.settings.mode
        fetch = fetch or self.settings.candidates
        q = self.embedder.encode([query])[0]
        words = None
        if mode in ("lexical", "hybrid"):
            # BM25 runs inside SQLite, and a one-query FAISS scan on one core, both without the GIL:
            # side by side they take as long as the slower of the two
            if self._beside is None:
                self._beside = ThreadPoolExecutor(1, thread_name_prefix="lexical")
            if self._lexical is None:  # the configured mode is dense; this query asks for words too
                self._lexical = self.index.lexical_index()
            words = self._beside.submit(self._lexical.search, query, fetch)
        rankings = []
        if mode in ("dense", "hybrid"):
            [rows] = self.index.search(q[None], min(len(self.index), fetch), one_thread=words is not None)
            rankings.append(segment_similarity(self.index, self._rows, q, [base_id(r) for r, _ in rows]))
        if words is not None:
            rankings.append(best_per_segment(words.result()))
        relevance = dict(rankings[0]) if len(rankings) == 1 else fuse(rankings, self.settings.rrf_k)
        named = category if category is not None else self.query_category(q)
        if named is not None and self.settings.category_weight > 0 and self._questions:
            raws = self.catalog.answers(list(relevance), self.describer, self.scorer)
            unit = 1.0 / (self.settings.rrf_k + 1)  # a first place in one ranking
            for sid, raw in raws.items():
                relevance[sid] += self.settings.category_weight * unit * agreement(raw, named, self._questions)
        return Ranked(relevance, named)

    def _hits(self, ordered: list[tuple[str, float]], categories: dict[str, int] | None = None) -> list[Hit]:
        details = self.catalog.scored_segments_by_id([sid for sid, _ in ordered], self.describer, self.scorer)
        categories = self.catalog.categories() if categories is None else categories
        hits = []
        for sid, sim in ordered:
            row = details.get(sid)
            if row is None:
                continue  # indexed but since removed from the catalog: skipped until the next `ltvad index`
            seg = row.segment
            hits.append(Hit(sid, seg.clip_id, row.source, seg.start_s, seg.end_s, sim, row.score, row.description,
                            categories.get(seg.clip_id), likeliest(row.raw)))
        return hits

    def _filtered(self, ordered: list[tuple[str, float]], k: int, min_score: float | None,
                  category: int | None, exclude_clip: str | None = None) -> list[Hit]:
        out: list[Hit] = []
        categories = self.catalog.categories()
        start, step = 0, max(2 * k, 32)
        while start < len(ordered):  # joined to the catalog a chunk at a time: most queries need one
            for hit in self._hits(ordered[start: start + step], categories):
                if exclude_clip is not None and hit.clip_id == exclude_clip:
                    continue
                if min_score is not None and (hit.score is None or hit.score < min_score):
                    continue
                if category is not None and not self._in_category(hit, category):
                    continue
                out.append(hit)
                if len(out) == k:
                    return out
            start, step = start + step, 4 * step
        return out

    def _in_category(self, hit: Hit, category: int) -> bool:
        """A clip labelled with the category, or an unlabelled one whose checklist says it is present."""
        if hit.category is not None:
            return hit.category == category
        return hit.most_likely is not None and hit.most_likely[1] >= self.threshold and \
            category in self._questions.get(hit.most_likely[0], ())

    def _fetch(self, k: int, filtered: bool) -> int:
        """Rows to ask FAISS for: sentences share segments, and the caller drops some hits."""
        return len(self.index) if filtered else min(len(self.index), max(k * 10, k + 64))

    def text(self, query: str, k: int = 20, *, min_score: float | None = None, category: int | None = None,
             mode: str | None = None, order: str | None = None, rerank_top: int = 0,
             judge: YesNoJudge | None = None, cache: ScoreCache | None = None) -> list[Hit]:
        """Segments whose descriptions match a free-text query, most relevant first.

        `order="long-tail"` puts the relevant hits in order of relevance and long-tail score
        together; `rerank_top` N asks `judge` whether each of the top N shows the query."""
        if not query.strip():
            raise ValueError("empty query")
        filtered = min_score is not None or category is not None
        long_tail = (order or self.settings.order) == "long-tail"
        self.last_rerank = None
        ranked = self.rank(query, category=category, mode=mode,
                           fetch=max(self.settings.candidates, self._fetch(k, filtered) if filtered else 0))
        ordered = sorted(ranked.relevance.items(), key=lambda it: -it[1])
        if rerank_top and judge is not None:
            top = self._hits(ordered[:rerank_top])
            result = rerank(judge, query, [(h.segment_id, h.description) for h in top], cache)
            self.last_rerank = result
            head = [(sid, ranked.relevance[sid]) for sid in result.order]
            ordered = head + [it for it in ordered if it[0] not in result.p_yes]
        if long_tail:  # reorder a wider set of relevant hits, then keep k
            return long_tail_first(self._filtered(ordered, 3 * k, min_score, category))[:k]
        return self._filtered(ordered, k, min_score, category)

    def similar(self, ref: str, k: int = 20, *, min_score: float | None = None,
                category: int | None = None) -> list[Hit]:
        """"More like this": segments of other clips nearest to a segment, or to any segment of a clip."""
        seg = self.catalog.segment(ref)
        if seg is not None:
            clip_id, seeds = seg.clip_id, [ref]
        else:
            clip = self.catalog.find_clip(ref)
            if clip is None:
                raise ValueError(f"{ref}: no such clip or segment in the catalog")
            clip_id, seeds = clip.clip_id, [s.segment_id for s in self.catalog.segments(clip_id=clip.clip_id)]
        seeds = [s for s in seeds if s in self.index]
        if not seeds:
            raise ValueError(f"{ref}: not indexed yet (run `ltvad index`)")
        queries = np.stack([self.index.vector(s) for s in seeds])
        best: dict[str, float] = {}
        filtered = min_score is not None or category is not None
        for ranked in self.index.search(queries, self._fetch(k + len(seeds), filtered)):
            for row_id, sim in ranked:
                if SENTENCE_MARK not in row_id:  # example to example: whole descriptions
                    best[row_id] = max(sim, best.get(row_id, -1.0))
        merged = sorted(best.items(), key=lambda it: -it[1])
        return self._filtered(merged, k, min_score, category, exclude_clip=clip_id)


def long_tail_first(hits: list[Hit]) -> list[Hit]:
    """Relevant hits reordered by relevance and long-tail score together: each hit's place in the
    relevance order (1 first, 0 last) plus its long-tail score, so a strongly long-tail clip rises
    over a slightly more relevant routine one."""
    n = max(1, len(hits) - 1)
    keyed = [(1 - i / n + (h.score or 0.0), i, h) for i, h in enumerate(hits)]
    return [h for _, _, h in sorted(keyed, key=lambda it: (-it[0], it[1]))]


def _checklist_of(scorer_key: str) -> prompts.Prompt | None:
    """The checklist prompt a run's scores were made with (its questions map to categories)."""
    prompt_id = scorer_key.rsplit("|", 1)[-1]
    try:
        prompt = prompts.load(prompt_id.split("@", 1)[0])
    except prompts.PromptError:
        return None
    # only the very wording the scores were made with says which question stands for which category
    return prompt if prompt.questions and prompt.id == prompt_id else None
