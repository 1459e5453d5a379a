from ltvad_search.cli import app

app()
