"""ltvad-search UI. Start it with `ltvad ui`; `streamlit run ui/app.py -- --set store.root=DIR` works too,
with a slower first visit (see ui/serve.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run ui/app.py` from a checkout
    sys.path.insert(0, str(ROOT))

from ui import pages  # noqa: E402


def main() -> None:
    st.set_page_config(page_title="ltvad-search", page_icon=":material/traffic:", layout="wide")
    st.sidebar.markdown("**ltvad-search**  \nlong-tail driving scenarios")
    st.navigation([
        st.Page(pages.candidates_page, title="Candidates", icon=":material/leaderboard:", default=True),
        st.Page(pages.search_page, title="Search", icon=":material/search:"),
        st.Page(pages.more_page, title="More like this", icon=":material/travel_explore:"),
        st.Page(pages.evaluation_page, title="Evaluation", icon=":material/monitoring:"),
        st.Page(pages.review_page, title="Review", icon=":material/fact_check:"),
    ]).run()


main()
