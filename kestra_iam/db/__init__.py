"""The database beneath the ORM: the PostgreSQL backend the app runs on (`postgresql`, Django's
own with a health check that costs no round trip)."""
