"""The integration table's authorisation generation triggers as they stand (see
`kestra_iam.db.triggers`): an integration's state decides who may call, like a token's. Its
migrations 0003 and 0004 ran them from `provisioning/migrations/_generation_triggers.py`."""

from kestra_iam.db.triggers import ALWAYS

TABLE = "provisioning_provisioningintegration"
INTEGRATION_GENERATION_TRIGGERS = [
    (TABLE, "INSERT", ALWAYS),
    (TABLE, "DELETE", ALWAYS),
    (TABLE, "UPDATE OF enabled, tenant_id, service_account_id", ALWAYS),
]
