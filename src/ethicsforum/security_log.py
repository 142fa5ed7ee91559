"""Security events: one structured line each on the `ethicsforum.security` logger, no secrets.

Every event is written through `event()`, as one INFO record whose message reads

    security event=sign_in_failed username=ann address=10.0.0.7

(logfmt: `key=value` pairs, a value quoted as a JSON string when it holds anything but
letters, digits and `._:@/+-`, so a username with a newline cannot forge a second line). The
record also carries the same data as attributes for structured handlers: `security_event`
(the name) and `security_fields` (a dict). Callers pass identifiers only: usernames, account
and row ids, addresses, roles, counts. A field named like a secret (password, token, hash,
cookie, secret) is refused at the call, so a careless `password=` never reaches a log.

Events: sign_in_succeeded, sign_in_failed, sign_in_locked, password_rehashed, token_created,
token_revoked, signed_out, account_created, cohort_created, member_joined, member_added,
member_removed, join_refused, join_failed, join_locked, export_with_names.
"""

from __future__ import annotations

import json
import logging
import re

log = logging.getLogger("ethicsforum.security")

_PLAIN = re.compile(r"^[A-Za-z0-9._:@/+-]+$")
_SECRET_NAMES = frozenset(
    {"password", "token", "access_token", "hash", "password_hash", "cookie", "secret", "csrf"}
)
_MAX_VALUE = 200

Value = str | int | bool | None


def _format(value: Value) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    text = text[:_MAX_VALUE]
    return text if _PLAIN.match(text) else json.dumps(text)


def event(name: str, **fields: Value) -> None:
    """Log one security event with its fields (None values are left out)."""
    secret = _SECRET_NAMES.intersection(fields)
    if secret:
        raise ValueError(f"security events never carry secrets: {sorted(secret)}")
    present = {key: value for key, value in fields.items() if value is not None}
    line = " ".join(
        [f"event={_format(name)}", *(f"{key}={_format(value)}" for key, value in present.items())]
    )
    log.info("security %s", line, extra={"security_event": name, "security_fields": present})
