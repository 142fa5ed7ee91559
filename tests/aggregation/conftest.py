"""The discussions' world (a cohort with faculty, three students and an outsider), shared."""

from tests.discussions.conftest import world  # noqa: F401
