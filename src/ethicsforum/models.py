"""Every domain's tables, imported in one place so the metadata is complete."""

from ethicsforum.accounts.models import (  # noqa: F401
    Account,
    ApiToken,
    BrowserSession,
    Cohort,
    Membership,
    SignInAttempt,
)

# Registers the hook that keeps each discussion's summary_generation current.
from ethicsforum.aggregation import freshness  # noqa: E402, F401
from ethicsforum.cases.models import (  # noqa: F401
    CaseReview,
    CaseVersion,
    DeidAcceptance,
    EthicsCase,
)
from ethicsforum.discussions.models import (  # noqa: F401
    Claim,
    Discussion,
    Position,
    Rebuttal,
    Revision,
    Stance,
)
from ethicsforum.moderation.models import (  # noqa: F401
    AuditEntry,
    ExemplaryMark,
    Feedback,
    Flag,
)
from ethicsforum.notifications.models import Notification  # noqa: F401
