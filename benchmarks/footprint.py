"""What a provisioned user, a membership and an audit event cost on disk, measured on the bench's
own database after Entra's traffic (the comparison and the 5,000-user sync), and what that makes
at 10,000 tenants x 10,000 users: the input of docs/architecture.md, "Beyond one database".

Bytes per row are each table's whole size (heap, TOAST and indexes, `pg_total_relation_size`)
over its rows, so indexes are included; a provisioned user is its global row, one tenant access
(the tenant's profile) and its multi-valued attribute rows.
"""

from __future__ import annotations

TABLES = {
    "users": "kestra_iam_user",
    "accesses": "kestra_iam_tenantaccess",
    "values": "kestra_iam_uservalue",
    "memberships": "kestra_iam_groupmembership",
    "audit events": "kestra_iam_auditevent",
}
TENANTS, USERS_PER_TENANT = 10_000, 10_000
MEMBERSHIPS_PER_USER = 5  # a person in a handful of assigned groups
GIB = 1024**3


def measure() -> dict[str, dict]:
    from django.db import connection

    measured = {}
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        for label, table in TABLES.items():
            quoted = connection.ops.quote_name(table)  # names of our own, quoted anyway
            cursor.execute(
                f"SELECT count(*), pg_total_relation_size(%s) FROM {quoted}",  # noqa: S608
                [table],
            )
            rows, size = cursor.fetchone()
            measured[label] = {"rows": rows, "bytes": size}
    return measured


def footprint(notes: dict) -> None:
    measured = measure()
    per = {label: m["bytes"] / m["rows"] for label, m in measured.items() if m["rows"]}
    values_per_access = measured["values"]["rows"] / max(measured["accesses"]["rows"], 1)
    user_bytes = per["users"] + per["accesses"] + values_per_access * per["values"]
    accesses = TENANTS * USERS_PER_TENANT
    notes["footprint (measured)"] = {
        label: {"rows": m["rows"], "bytes per row": round(per.get(label, 0))}
        for label, m in measured.items()
    }
    notes["footprint at 10,000 tenants x 10,000 users"] = {
        "bytes per provisioned user (user + access + values)": round(user_bytes),
        "users and profiles (GiB)": round(accesses * user_bytes / GIB),
        f"memberships at {MEMBERSHIPS_PER_USER} per user (GiB)": round(
            accesses * MEMBERSHIPS_PER_USER * per["memberships"] / GIB
        ),
        "audit events per GiB": round(GIB / per["audit events"]),
        "bytes per audit event": round(per["audit events"]),
    }
