"""On PostgreSQL, bumping the authorisation generation sets a random 64-bit value instead of the
next number, so a bump lost in a failover cannot be reissued by the new primary
(`kestra_iam.db.triggers.BUMP_RANDOM`). The SQL is frozen here, as this migration ran it."""

from django.db import migrations

RANDOM = """
CREATE OR REPLACE FUNCTION kestra_iam_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE kestra_iam_authgeneration
        SET value = ('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint
        WHERE id = 1;
    RETURN NULL;
END $$
"""
COUNTER = """
CREATE OR REPLACE FUNCTION kestra_iam_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE kestra_iam_authgeneration SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END $$
"""


def random_bumps(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RANDOM)


def counting_bumps(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COUNTER)


class Migration(migrations.Migration):
    dependencies = [
        ("kestra_iam", "0016_writes_checked_against_the_generation"),
        # after every migration that (re)creates the bump function
        ("provisioning", "0006_token_reveal"),
    ]

    operations = [migrations.RunPython(random_bumps, counting_bumps)]
