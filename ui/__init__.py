"""The Streamlit UI: candidates, search, more-like-this, evaluation and label review."""
