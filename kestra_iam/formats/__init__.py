"""One date format across the admin (FORMAT_MODULE_PATH): 2026-12-07 10:42, as the lists, the
audit trail and the exports write it, instead of English's "Dec. 7, 2026, 10:42 a.m."."""
