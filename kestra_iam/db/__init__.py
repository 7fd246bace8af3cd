"""The data-access home: every SQL trick the hot paths use, behind functions named for what they
do, so that services read like the rest of the code.

- `postgresql/` — the database backend (Django's, with a health check of kept connections that
  asks the socket instead of sending `SELECT 1`).
- `compiled` — querysets and one-row inserts compiled once per process; `insert_together` and
  `insert_atomically` send several inserts as one message.
- `piggyback` — fixed statements that ride with the next query instead of a round trip of their
  own.
- `transactions` — lock waits bounded per transaction, conflicts retried once, SQLSTATE kinds.
- `memberships` — group memberships as deltas, one statement each, returning what changed.
- `any_of` — a list as one parameter, so a batch of any size is one statement.
- `triggers` — the database's triggers as they stand (migrations run frozen copies).

The contract, for callers: everything here runs on the default connection (one database by
design, docs/architecture.md); a function that sends several statements as one message needs
psycopg's client-side binding (system check kestra_iam.E001); a queued piggyback statement must
be sent or discarded within the scope that queued it; a compiled insert sends no signals, so it
is only for models nobody listens to (it refuses the others). Callers must not build SQL of
their own around these: a new trick is a new function here, with its test.
"""
