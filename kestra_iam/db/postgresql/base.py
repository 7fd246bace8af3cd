"""Django's PostgreSQL backend with a health check that costs no round trip.

A kept connection (`DATABASE_CONN_MAX_AGE`) can die between requests: a failover, a restart, a
proxy (HAProxy's `shutdown-sessions`, PgBouncer) closing it. Django's health check finds out by
sending `SELECT 1` before each request's first query — a round trip on every request, on the
hot path. A connection that idles is not supposed to receive anything, so instead this one asks
the socket: if the server closed it, or sent anything at all (the FATAL of a shutdown, an EOF),
it is readable, and the connection is replaced before the request uses it. A peer that vanished
without a word (a host that lost power behind no proxy) is not seen this way; that request
fails with a 503, and the next gets a new connection.

Also: a new connection that works ends a database outage in the log
(`observability.availability`).
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base

from observability.availability import DATABASE_OUTAGE


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self.idle_and_open():
            self.close()
        self.health_check_done = True

    def idle_and_open(self) -> bool:
        """The connection is open, between transactions, and has nothing waiting to be read."""
        try:
            if self.connection.closed or self.connection.broken:
                return False
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError, self.Database.Error):
            return False
        return not readable

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        DATABASE_OUTAGE.answered()
        return connection
