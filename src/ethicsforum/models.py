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

# Registers the hook that records and announces every change on a discussion's live stream.
from ethicsforum.discussions import announce  # noqa: E402, F401
from ethicsforum.discussions.models import (  # noqa: F401
    Claim,
    Discussion,
    LiveEvent,
    Position,
    Rebuttal,
    Revision,
    Stance,
)

# Teaches the announcing hook the moderation domain's changes (exemplary marks).
from ethicsforum.moderation import live  # noqa: E402, F401
from ethicsforum.moderation.models import (  # noqa: F401
    AuditEntry,
    ExemplaryMark,
    Feedback,
    Flag,
)
from ethicsforum.notifications.models import Notification  # noqa: F401
