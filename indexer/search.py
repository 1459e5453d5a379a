"""Search over the catalog's descriptions: by words, by example, and narrowing the ranked list.

The index holds the descriptions of one describer (the latest run's); hits are joined back to the
catalog for the clip, the time span, the description and the long-tail score of that run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from indexer.categories import (
    QueryCategories,
    agreements,
    answer_similarity,
    checklist_of,
    feedback,
    question_categories,
)
from indexer.index import VectorIndex, configured_embedder, relative_location
from indexer.lexical import LexicalIndex
from indexer.query import Query, parse
from indexer.ranking import (
    SENTENCE_MARK,
    base_id,
    best_per_segment,
    fuse,
    passages,
    rows_by_segment,
    segment_similarity,
)
from indexer.rerank import Reranked, rerank
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
    matched: str | None = None  # the description's sentence nearest the query (text search, several sentences)


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    added: int
    removed: int
    total: int


def model_name(settings: Settings) -> str:
    return settings.index.model or DEFAULT_MODEL


def update_index(catalog: Catalog, settings: Settings, embedder: Embedder, describer: str, k: int, *,
                 rebuild: bool = False, progress: Callable[[int, int], None] | None = None) -> IndexUpdate:
    """Embed every described segment not yet indexed, drop those whose clips are gone, save."""
    folder = settings.store.index
    index = None
    if not rebuild and (folder / "CURRENT").exists():
        # an index that does not match the configured model or describer is refused, never replaced
        index = VectorIndex.load(folder, embedding_model=embedder.name, describer=describer)
    if index is None:
        index = VectorIndex.empty(embedder.name, embedder.dim, describer, settings.index.kind, settings.index.params,
                                  relative_location(embedder, folder))
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


@dataclass(frozen=True, slots=True)
class Ranked:
    """A query's candidate segments with their relevance, before they are joined to the catalog."""

    relevance: dict[str, float]
    category: int | None  # the category the query named (or --category), used for the boost when there is one
    vector: np.ndarray  # the query's embedding
    excluded: frozenset[str] = frozenset()  # segments holding the words of a negated phrase: they go last

    def ordered(self) -> list[tuple[str, float]]:
        """Most relevant first, the excluded after all others (in their own order of relevance)."""
        return sorted(self.relevance.items(), key=lambda it: (it[0] in self.excluded, -it[1]))


class Searcher:
    """Loaded once per process (the UI keeps one); a query is an embedding, a FAISS lookup and a BM25
    lookup, fused, then joined to the catalog."""

    def __init__(self, catalog: Catalog, settings: Settings, describer: str, scorer: str,
                 embedder: Embedder | None = None, index: VectorIndex | None = None) -> None:
        self.catalog, self.describer, self.scorer = catalog, describer, scorer
        self.settings = settings.search
        self.threshold = settings.scorer.threshold
        self.embedder = embedder or configured_embedder(settings)
        self.index = index or VectorIndex.load(settings.store.index, embedding_model=self.embedder.name,
                                               describer=describer)
        self._rows = rows_by_segment(self.index)
        self._lexical = self.index.lexical_index() if self.settings.mode != "dense" else None
        self._checklist = checklist_of(scorer)
        self._questions = question_categories(self._checklist)
        self._categories: QueryCategories | None = None
        self._beside: ThreadPoolExecutor | None = None
        self.last_rerank: Reranked | None = None  # what the latest text() re-ranked, when it did
        self.last_category: int | None = None  # the category the latest text() read its query as, boosted
        self._durations: dict[str, float] = {}

    def query_category(self, query_vector: np.ndarray, query: str = "", relevance: dict[str, float] | None = None,
                       agree: dict[str, dict[int, float]] | None = None) -> int | None:
        """The category a query names (indexer/categories.py), from its embedding, its words and, given
        its text ranking and the candidates' checklist agreement, what its best matches answered."""
        if self._categories is None:
            self._categories = QueryCategories(self.embedder, self._checklist,
                                               words_weight=self.settings.category_words_weight,
                                               feedback_weight=self.settings.category_feedback_weight)
        evidence = feedback(sorted(relevance, key=lambda sid: -relevance[sid]), agree) if relevance and agree else None
        guess = self._categories.guess(query_vector, query, evidence)
        return None if guess is None else guess.category

    def rank(self, query: str, *, category: int | None = None, mode: str | None = None,
             fetch: int | None = None, without: tuple[str, ...] = ()) -> Ranked:
        """Relevance of the candidate segments for a query: dense and lexical rankings fused, then
        the category's checklist agreement added. Each phrase in `without` pushes hits down in both
        halves: its similarity is subtracted in the dense one (`search.negation_weight`), and rows
        holding its words leave the lexical one; segments holding its words are marked `excluded`."""
        mode = mode or self.settings.mode
        fetch = fetch or self.settings.candidates
        q, *negated = self.embedder.encode([query, *without])
        excluded = self._holding(without)
        words = None
        if mode in ("lexical", "hybrid"):
            # BM25 runs inside SQLite, and a one-query FAISS scan on one core, both without the GIL:
            # side by side they take as long as the slower of the two
            if self._beside is None:
                self._beside = ThreadPoolExecutor(1, thread_name_prefix="lexical")
            words = self._beside.submit(self._words().search, query, fetch)
        rankings = []
        if mode in ("dense", "hybrid"):
            [rows] = self.index.search(q[None], min(len(self.index), fetch), one_thread=words is not None)
            dense = segment_similarity(self.index, self._rows, q, [base_id(r) for r, _ in rows])
            for n in negated:  # a hit's best row's similarity to the negated phrase, subtracted
                near = dict(segment_similarity(self.index, self._rows, n, [sid for sid, _ in dense], best=True))
                weight = self.settings.negation_weight
                dense = sorted(((sid, v - weight * near[sid]) for sid, v in dense), key=lambda it: -it[1])
            rankings.append(dense)
        if words is not None:
            rankings.append([(sid, v) for sid, v in best_per_segment(words.result()) if sid not in excluded])
        relevance = dict(rankings[0]) if len(rankings) == 1 else fuse(rankings, self.settings.rrf_k)
        boost = self.settings.category_weight > 0 and bool(self._questions)
        raws = self.catalog.answers(list(relevance), self.describer, self.scorer) if boost else {}
        agree = {sid: agreements(raw, self._questions) for sid, raw in raws.items()}
        named = category
        if named is None and boost:  # guessed only where its answers would lift hits
            named = self.query_category(q, query, relevance, agree)
        if named is not None and boost:
            unit = 1.0 / (self.settings.rrf_k + 1)  # a first place in one ranking
            for sid, cats in agree.items():
                relevance[sid] += self.settings.category_weight * unit * cats.get(named, 0.0)
        return Ranked(relevance, named, q, frozenset(excluded))

    def _words(self) -> LexicalIndex:
        """The BM25 half, opened on first use when the configured mode is dense."""
        if self._lexical is None:
            self._lexical = self.index.lexical_index()
        return self._lexical

    def _holding(self, phrases: tuple[str, ...]) -> set[str]:
        """Segments whose text holds every word of one of `phrases` (a negation's exclusions)."""
        return {base_id(r) for phrase in phrases for r in self._words().containing(phrase)} if phrases else set()

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

    def _filtered(self, ordered: list[tuple[str, float]], k: int, q: Query,
                  exclude_clip: str | None = None) -> list[Hit]:
        """The first k hits of `ordered` that pass the query's filters (score, category, clip, time)."""
        out: list[Hit] = []
        categories = self.catalog.categories()
        clip_id = self._clip_id(q.clip) if q.clip is not None else None
        start, step = 0, max(2 * k, 32)
        while start < len(ordered):  # joined to the catalog a chunk at a time: most queries need one
            for hit in self._hits(ordered[start: start + step], categories):
                if exclude_clip is not None and hit.clip_id == exclude_clip:
                    continue
                if clip_id is not None and hit.clip_id != clip_id:
                    continue
                if q.min_score is not None and (hit.score is None or hit.score < q.min_score):
                    continue
                if q.max_score is not None and (hit.score is None or hit.score >= q.max_score):
                    continue
                if q.category is not None and not self._in_category(hit, q.category):
                    continue
                if q.span is not None and not q.span.admits(hit.start_s, hit.end_s, self._duration(hit.clip_id)):
                    continue
                out.append(hit)
                if len(out) == k:
                    return out
            start, step = start + step, 4 * step
        return out

    def _clip_id(self, ref: str) -> str:
        clip = self.catalog.find_clip(ref)
        if clip is None:
            raise ValueError(f"clip {ref!r} in the query: no such clip in the catalog")
        return clip.clip_id

    def _duration(self, clip_id: str) -> float:
        if clip_id not in self._durations:
            clip = self.catalog.clip(clip_id)
            self._durations[clip_id] = clip.duration_s if clip is not None else float("inf")
        return self._durations[clip_id]

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

        The query is read first (`read`): its negated phrases push hits down, its filters narrow them.
        `order="long-tail"` puts the relevant hits in order of relevance and long-tail score
        together; `rerank_top` N asks `judge` whether each of the top N shows the query."""
        q = self.read(query, min_score=min_score, category=category)
        if not (q.text or q.without or q.filtered):
            raise ValueError("empty query")
        self.last_rerank = None
        if not q.text:  # filters or negations alone: the passing segments, most long-tail first
            return self._by_score(q, k)
        long_tail = (order or self.settings.order) == "long-tail"
        ranked = self.rank(q.text, category=q.category, mode=mode, without=q.without,
                           fetch=max(self.settings.candidates, self._fetch(k, q.filtered) if q.filtered else 0))
        self.last_category = ranked.category
        ordered = ranked.ordered()
        if rerank_top and judge is not None:
            top = self._hits(ordered[:rerank_top])
            asked = q.text + "".join(f", not {w}" for w in q.without)  # the filters are not the judge's to read
            result = rerank(judge, asked, [(h.segment_id, h.description) for h in top], cache)
            self.last_rerank = result
            head = [(sid, ranked.relevance[sid]) for sid in result.order]
            ordered = head + [it for it in ordered if it[0] not in result.p_yes]
        # long-tail order: a wider set of relevant hits reordered, then k kept
        hits = long_tail_first(self._filtered(ordered, 3 * k, q))[:k] if long_tail else self._filtered(ordered, k, q)
        return [self._with_match(h, ranked.vector) for h in hits]

    def _with_match(self, hit: Hit, query: np.ndarray) -> Hit:
        """The hit with its sentence nearest the query (its sentence rows follow its whole row)."""
        own = self._rows.get(hit.segment_id, [])
        parts = split_sentences(hit.description)
        if len(own) < 2 or len(parts) != len(own) - 1:
            return hit
        return dataclasses.replace(hit, matched=parts[int(np.argmax(self.index.vectors[own[1:]] @ query))])

    def read(self, query: str, *, min_score: float | None = None, category: int | None = None) -> Query:
        """How `text` reads a query (`indexer/query.py`; one bag of words with `search.parse` off),
        with the filters given beside it: what the CLI and the UI show back."""
        read = parse(query) if self.settings.parse else Query(query, query.strip())
        return read.narrowed(min_score, category)

    def _by_score(self, q: Query, k: int) -> list[Hit]:
        """A query with nothing to search for ("score>=0.7 clip:x", "no rain"): with no relevance to
        order by, the passing segments come most long-tail first, those holding a negated phrase last."""
        excluded = self._holding(q.without)
        hits = self._filtered([(sid, 0.0) for sid in self._rows], len(self._rows), q)
        return sorted(hits, key=lambda h: (h.segment_id in excluded, -(h.score or 0.0)))[:k]

    def similar(self, ref: str, k: int = 20, *, min_score: float | None = None,
                category: int | None = None) -> list[Hit]:
        """"More like this": segments of other clips nearest to a segment, or to any segment of a clip, by
        their descriptions' similarity plus (`search.similar_answers_weight`) their checklist answers'."""
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
        if self.settings.similar_answers_weight and best:  # what stage 2 answered counts too
            raws = self.catalog.answers([*seeds, *best], self.describer, self.scorer)
            agree = answer_similarity([raws[s] for s in seeds if s in raws], {s: raws[s] for s in best if s in raws})
            best = {s: sim + self.settings.similar_answers_weight * agree.get(s, 0.0) for s, sim in best.items()}
        merged = sorted(best.items(), key=lambda it: -it[1])
        return self._filtered(merged, k, Query(ref, ref, min_score=min_score, category=category), exclude_clip=clip_id)


def long_tail_first(hits: list[Hit]) -> list[Hit]:
    """Relevant hits reordered by relevance and long-tail score together: each hit's place in the
    relevance order (1 first, 0 last) plus its long-tail score, so a strongly long-tail clip rises
    over a slightly more relevant routine one."""
    n = max(1, len(hits) - 1)
    keyed = [(1 - i / n + (h.score or 0.0), i, h) for i, h in enumerate(hits)]
    return [h for _, _, h in sorted(keyed, key=lambda it: (-it[0], it[1]))]
