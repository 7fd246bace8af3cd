"""Every API write is checked against the authorisation generation inside its own transaction.

The audit event of a write carries the generation its request was authorised under; a trigger
refuses the event, and so the write, once that generation no longer stands
(`kestra_iam.authorisation`). The SQL is frozen here, as this migration ran it.
"""

from django.db import migrations, models

POSTGRESQL = """
CREATE OR REPLACE FUNCTION kestra_iam_event_authorised() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- FOR SHARE until the write commits: a bump of the generation in progress is waited for,
    -- then its new value is seen; a bump that starts later waits for this write to commit.
    PERFORM 1 FROM kestra_iam_authgeneration
        WHERE id = 1 AND value = NEW.authorised_generation FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the authorisation generation changed' USING ERRCODE = 'KI001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER auditevent_authorised BEFORE INSERT ON kestra_iam_auditevent
    FOR EACH ROW WHEN (NEW.authorised_generation IS NOT NULL)
    EXECUTE FUNCTION kestra_iam_event_authorised();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS auditevent_authorised ON kestra_iam_auditevent;
DROP FUNCTION IF EXISTS kestra_iam_event_authorised();
"""
# SQLite runs one writer at a time: the check and the write cannot be interleaved by a bump.
SQLITE = """
CREATE TRIGGER auditevent_authorised BEFORE INSERT ON kestra_iam_auditevent
FOR EACH ROW WHEN NEW.authorised_generation IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'kestra_iam: the authorisation generation changed')
    WHERE NOT EXISTS (
        SELECT 1 FROM kestra_iam_authgeneration
        WHERE id = 1 AND value = NEW.authorised_generation
    );
END
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS auditevent_authorised"


def create_check(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(POSTGRESQL if vendor == "postgresql" else SQLITE)


def drop_check(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(POSTGRESQL_DROP if vendor == "postgresql" else SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("kestra_iam", "0015_identifiers_without_invisible_characters"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="authorised_generation",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(create_check, drop_check),
    ]
