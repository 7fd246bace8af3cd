"""The peer `make bench` compares with: django-scim2 0.23 with its stock adapters.

What a Django team would deploy instead of this project: django-scim2's views, adapters and
filter parser over a user model with its SCIM mixin, behind a bearer-token middleware that looks
the token up in one query (like DRF's authtoken). Its own database; served by gunicorn with the
same settings as the project. Benchmarks only: not part of the product, not imported by it.
"""
