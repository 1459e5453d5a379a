"""The UI's pages, one function each (`ui/app.py` puts them in the navigation).

Pages read the catalog read-only (WAL lets a run keep writing meanwhile); Review writes labels
through its own connection, one small transaction per click, so nothing is lost on refresh or crash.
What they share (settings, the catalog, cached models and indexes) is in `ui/state.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from ltvad_search.catalog import Catalog
from ltvad_search.records import Label, RunKey
from ui import data
from ui.state import candidates, cfg, needs_run, searcher

PAGE_SIZE = 50


def show_video(catalog: Catalog, clip_id: str, start_s: float) -> None:
    media = data.playable(catalog, clip_id)
    if media.kind == "missing":
        st.warning(media.message)
    elif media.kind == "image":
        st.image(str(media.path), caption=f"{Path(str(media.path)).name} (GIF; plays from the start)")
    else:
        st.video(str(media.path), start_time=int(start_s))


def clip_details(catalog: Catalog, keys: RunKey, clip_id: str, start_s: float, *, key: str) -> None:
    """The video from the top segment, every segment's description and score, and 'more like this'."""
    left, right = st.columns([3, 2])
    with left:
        show_video(catalog, clip_id, start_s)
    with right:
        for seg in data.segments(catalog, keys, clip_id):
            score = "n/a" if seg.score is None else f"{seg.score:.3f}"
            why = f" · most likely: {seg.most_likely}" if seg.most_likely else ""
            st.markdown(f"**Segment {seg.index + 1}** · {seg.start_s:.1f}–{seg.end_s:.1f} s · score **{score}**{why}")
            st.caption(seg.description)
        if st.button("More like this", key=f"mlt-{key}-{clip_id}", icon=":material/travel_explore:"):
            st.session_state[f"mlt-open-{key}"] = clip_id
    if st.session_state.get(f"mlt-open-{key}") == clip_id:
        st.markdown("#### More like this")
        s = searcher(catalog, keys)
        if s is not None:
            try:
                hits = s.similar(clip_id, 10)
            except ValueError as e:
                st.warning(str(e))
                return
            st.dataframe([{"similarity": round(h.similarity, 3), "clip": Path(h.source).name,
                           "span": f"{h.start_s:.1f}–{h.end_s:.1f} s", "description": h.description}
                          for h in hits], hide_index=True, width="stretch", key=f"mlt-table-{key}")


def results_table(rows: list[dict[str, Any]], *, key: str) -> Any:
    """A selectable table; returns the selected row index or None."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    event = st.dataframe(
        frame, key=key, on_select="rerun", selection_mode="single-row", hide_index=True, width="stretch",
        column_config={
            "score": st.column_config.ProgressColumn("long-tail score", min_value=0.0, max_value=1.0, format="%.3f"),
            "relevance": st.column_config.NumberColumn("relevance", format="%.3f"),
            "description": st.column_config.TextColumn("description", width="large"),
        })
    selected = event.selection.rows if event and event.selection else []
    return selected[0] if selected else None


def filters(items: list[data.Candidate], *, key: str) -> list[data.Candidate]:
    cols = st.columns([2, 2, 3])
    low, high = cols[0].slider("score range", 0.0, 1.0, (0.0, 1.0), step=0.05, key=f"{key}-range")
    present = sorted({c.category for c in items if c.category is not None})
    chosen = cols[1].multiselect("category", present, format_func=data.category_label, key=f"{key}-cat")
    folders = sorted({c.folder for c in items})
    folder = cols[2].selectbox("source folder", ["(all)", *folders], key=f"{key}-folder")
    return data.filtered(items, low=low, high=high, categories=chosen, folder=None if folder == "(all)" else folder)


def candidates_page() -> None:
    st.header("Long-tail candidates")
    ready = needs_run()
    if ready is None:
        return
    catalog, keys = ready
    # The controls sit above the table but are drawn after it: widget values are read from the
    # session first, so the table reaches the browser first and its heavy grid code loads while the
    # controls render (cold first render: bench/bench_ui.py).
    controls, table = st.container(), st.container()
    state = st.session_state
    threshold = float(state.get("cand-threshold", cfg().scorer.threshold))
    items = candidates(keys, threshold)
    low, high = state.get("cand-range", (0.0, 1.0))
    folder = state.get("cand-folder", "(all)")
    shown = data.filtered(items, low=low, high=high, categories=state.get("cand-cat") or None,
                          folder=None if folder == "(all)" else folder)
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    number = min(int(state.get("cand-page", 1)), pages)
    chunk = data.page(shown, number, PAGE_SIZE)
    rows = [{"score": c.score, "clip": c.name, "span": f"{c.start_s:.1f}–{c.end_s:.1f} s",
             "most likely": c.most_likely or "", "category": data.category_label(c.category),
             "label": {None: "", 1: "long-tail", 0: "routine"}[c.label], "description": c.description}
            for c in chunk]
    with table:
        picked = results_table(rows, key="cand-table") if rows else None
    st.sidebar.slider("long-tail threshold", 0.0, 1.0, float(cfg().scorer.threshold), 0.05, key="cand-threshold")
    with controls:
        filters(items, key="cand")
        flagged = sum(c.long_tail for c in shown)
        st.caption(f"{len(shown)} of {len(items)} scored clips · {flagged} at or above {threshold:g} · "
                   f"scorer `{keys.scorer}`")
        if pages > 1:
            st.number_input(f"page (of {pages})", 1, pages, 1, key="cand-page")
    if not rows:
        st.info("No clips match these filters.")
        return
    if picked is None:
        st.caption("Select a row to play the clip from its highest-scoring segment.")
        return
    c = chunk[picked]
    st.subheader(c.name)
    clip_details(catalog, keys, c.clip_id, c.start_s, key="cand")


def hits_view(catalog: Catalog, keys: RunKey, hits: list, *, key: str) -> None:
    if not hits:
        st.info("No results.")
        return
    rows = [{"relevance": h.similarity, "score": h.score, "clip": Path(h.source).name,
             "span": f"{h.start_s:.1f}–{h.end_s:.1f} s", "most likely": h.most_likely[0] if h.most_likely else "",
             "category": data.category_label(h.category), **({"matching sentence": h.matched or ""} if any(
                 x.matched for x in hits) else {}), "description": h.description} for h in hits]
    picked = results_table(rows, key=f"{key}-table")
    if picked is not None:
        h = hits[picked]
        st.subheader(Path(h.source).name)
        if h.matched and h.matched != h.description:  # the sentence the query matched, marked in its paragraph
            st.markdown(data.highlighted(h.description, h.matched))
        clip_details(catalog, keys, h.clip_id, h.start_s, key=key)


def hit_filters(key: str) -> tuple[int, float | None, int | None]:
    cols = st.columns(3)
    k = cols[0].number_input("results", 1, 500, 20, key=f"{key}-k")
    min_score = cols[1].slider("minimum long-tail score", 0.0, 1.0, 0.0, 0.05, key=f"{key}-min")
    category = cols[2].selectbox("category", [None, *range(1, 11)], format_func=lambda c: "(any)" if c is None
                                 else data.category_label(c), key=f"{key}-cat")
    return int(k), (min_score or None), category


def search_page() -> None:
    st.header("Scenario search")
    ready = needs_run()
    if ready is None:
        return
    catalog, keys = ready
    query = st.text_input("Describe the scene you are looking for",
                          placeholder="a cyclist swerves into the lane at night, not in the rain", key="search-q",
                          help="\"not ...\", \"no ...\", \"without ...\" push hits down; score>=0.5, category 10, "
                          "clip:NAME and \"in the last 5 seconds\" filter. How the query was read is shown above the "
                          "results.")
    k, min_score, category = hit_filters("search")
    cols = st.columns(2)
    mode = cols[0].radio("ranking", ["hybrid", "dense", "lexical"], horizontal=True, key="search-mode",
                         help="hybrid: meaning (embeddings) and exact words (BM25) fused; the others alone")
    order = cols[1].radio("order", ["relevance", "long-tail"], horizontal=True, key="search-order",
                          format_func=lambda o: "long-tail first" if o == "long-tail" else o,
                          help="long-tail first: the relevant hits ordered by relevance and long-tail score together")
    if not query.strip():
        return
    s = searcher(catalog, keys)
    if s is None:
        return
    try:
        hits = s.text(query, k, min_score=min_score, category=category, mode=mode, order=order)
    except ValueError as e:  # a clip the query names that is not in the catalog
        st.warning(str(e))
        return
    read = s.read(query, min_score=min_score, category=category)
    guessed = s.last_category if read.category is None else None  # the category the ranking read the query as
    about = f"about {data.category_label(guessed)}: segments the checklist put there rank higher" if guessed else ""
    if not read.plain or about:
        st.caption("Read as: " + "; ".join(part for part in (read.explain() if not read.plain else "", about) if part))
    hits_view(catalog, keys, hits, key="search")


def more_page() -> None:
    st.header("More like this")
    ready = needs_run()
    if ready is None:
        return
    catalog, keys = ready
    clips = {c.clip_id: Path(c.source).name for c in catalog.clips()}
    wanted = st.query_params.get("clip") or st.session_state.get("mlt_clip")
    if wanted is not None and wanted not in clips:
        st.warning(f"{wanted}: no such clip in the catalog.")
        wanted = None
    options = sorted(clips, key=lambda cid: clips[cid])
    chosen = st.selectbox("Clip", options, index=options.index(wanted) if wanted else None,
                          format_func=lambda cid: clips[cid], placeholder="Choose a clip", key="mlt-select")
    if chosen is None:
        return
    st.session_state["mlt_clip"] = chosen
    k, min_score, category = hit_filters("mlt")
    s = searcher(catalog, keys)
    if s is None:
        return
    try:
        hits = s.similar(chosen, k, min_score=min_score, category=category)
    except ValueError as e:
        st.warning(str(e))
        return
    hits_view(catalog, keys, hits, key="mlt")


def evaluation_page() -> None:
    st.header("Evaluation")
    found = data.reports(cfg().store.root)
    if not found:
        st.info("No evaluation yet. Import labels with `ltvad labels import FILE`, then run `ltvad eval`.")
        return
    names = [r.name for r in found]
    chosen = st.multiselect("Reports (pick two to compare)", names, default=names[:1], max_selections=2)
    picked = [r for r in found if r.name in chosen]
    if not picked:
        return
    st.table({r.name: _metric_rows(r.metrics) for r in picked})
    for report in picked:
        st.markdown(f"**{report.name}** · {report.metrics.get('title', '')}")
        roc, hist = st.columns(2)
        roc.image(str(report.folder / "roc.png"))
        hist.image(str(report.folder / "histogram.png"))
        recall = report.metrics.get("per_category_recall") or {}
        if recall:
            st.table({name: {"found": v["found"], "total": v["total"], "recall": f"{v['found'] / v['total']:.2f}"}
                      for name, v in recall.items()})


def _metric_rows(m: dict) -> dict[str, str]:
    """The paper's table for one report, formatted for reading."""
    return {
        "ROC AUC (95% CI)": f"{m['auc']:.3f} ({m['auc_low']:.3f}-{m['auc_high']:.3f})",
        "PR AUC": f"{m['pr_auc']:.3f}",
        "accuracy": f"{m['accuracy']:.3f}",
        "precision": f"{m['precision']:.3f}",
        "recall": f"{m['recall']:.3f}",
        "F1": f"{m['f1']:.3f}",
        "seconds per item": f"{m['seconds_per_item']:.2f}",
        "labelled items (long-tail)": f"{m['n']} ({m['positives']})",
        "threshold": f"{m['threshold']:g}",
    }


def save_label(clip_id: str, label: int, category: int | None, subtype: str | None = None) -> None:
    """One transaction per click: the label is in SQLite before the page changes."""
    with Catalog(cfg().store.catalog) as catalog:
        catalog.put_labels([Label(clip_id=clip_id, label=label, category=category if label else None,
                                  subtype=subtype if label else None)])


def review_page() -> None:
    st.header("Review")
    ready = needs_run()
    if ready is None:
        return
    catalog, keys = ready
    items = candidates(keys, cfg().scorer.threshold)
    mode = st.radio("Queue", ["Candidates by score", "Pseudo-labels to confirm"], horizontal=True, key="review-mode",
                    help="Pseudo-labels come from `ltvad label`; an audit sample of its 'no' answers is included.")
    proposed: dict[str, Label] = {}
    if mode == "Candidates by score":
        queue = [c for c in items if c.label is None]
        done = len(items) - len(queue)
        st.progress(done / max(1, len(items)), text=f"{done} of {len(items)} clips labelled")
    else:
        from ltvad_search.dataset import labeling

        pseudo = catalog.labels("pseudo")
        if not pseudo:
            st.info("No pseudo-labels yet: run `ltvad label` (or `ltvad label --video` with a multimodal model).")
            return
        by_id = {c.clip_id: c for c in items}
        reviewed = {c.clip_id for c in items if c.label is not None}
        proposals = labeling.review_queue(pseudo, reviewed, cfg().label.audit_rate, cfg().label.seed)
        proposed = {p.clip_id: p for p in proposals}
        queue = [by_id[p.clip_id] for p in proposals if p.clip_id in by_id]
        st.progress(len(reviewed) / max(1, len(reviewed) + len(queue)),
                    text=f"{len(queue)} pseudo-labels to confirm (positives first, then the audit sample)")
    if not queue:
        st.success("Every clip in this queue has a label.")
        return
    position = min(st.session_state.get("review_pos", 0), len(queue) - 1)
    c = queue[position]
    st.subheader(f"{c.name} · score {c.score:.3f}")
    clip_details(catalog, keys, c.clip_id, c.start_s, key="review")
    guess = proposed.get(c.clip_id)
    if guess is not None:
        st.info(f"Labeler: {data.category_label(guess.category)} - {guess.subtype or ''}" if guess.label
                else "Labeler said routine (audit sample): is it?")
    options = [None, *range(1, 11)]
    queue_name = "pseudo" if mode != "Candidates by score" else "score"  # its own widget, its own default
    category = st.selectbox("Category (for long-tail)", options, key=f"review-cat-{queue_name}-{c.clip_id}",
                            index=options.index(guess.category) if guess is not None and guess.category else 0,
                            format_func=lambda v: "(none)" if v is None else data.category_label(v))
    cols = st.columns(4)
    if cols[0].button("Long-tail", type="primary", shortcut="y", key="review-yes", help="y"):
        save_label(c.clip_id, 1, category, guess.subtype if guess is not None and guess.category == category else None)
        st.rerun()
    if cols[1].button("Routine", shortcut="n", key="review-no", help="n"):
        save_label(c.clip_id, 0, None)
        st.rerun()
    if cols[2].button("Skip", shortcut="s", key="review-skip", help="s"):
        st.session_state["review_pos"] = (position + 1) % len(queue)
        st.rerun()
    if cols[3].button("Back", shortcut="b", key="review-back", help="b"):
        st.session_state["review_pos"] = max(0, position - 1)
        st.rerun()
    st.caption("Keys: y long-tail · n routine · s skip · b back. Labels are saved at once.")
