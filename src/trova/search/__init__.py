"""Search: outbox ingestion, embedders, SQLite/PostgreSQL backends, hybrid ranking, comparables.

Importing the package installs the outbox listeners (trova.search.outbox), so every process
that touches search (the app, the CLI, workers) enqueues index jobs on listing changes.
"""

from trova.search import outbox as _outbox

_outbox.install()
