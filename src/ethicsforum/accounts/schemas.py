"""What the accounts API sends and accepts."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ethicsforum.accounts.models import Account, Role


class AccountPublic(BaseModel):
    """An account as its owner and admins see it."""

    id: int
    username: str
    display_name: str
    role: str
    profession: str | None

    @classmethod
    def of(cls, account: Account) -> AccountPublic:
        return cls(
            id=account.id or 0,
            username=account.username,
            display_name=account.display_name,
            role=account.role,
            profession=account.profession,
        )


class AccountCreate(BaseModel):
    """An admin's request for a new account."""

    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    display_name: str | None = Field(default=None, max_length=120)
    profession: str | None = Field(default=None, max_length=60)


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class CohortCreate(BaseModel):
    """Faculty's request for a new cohort."""

    name: str = Field(min_length=1, max_length=120)


class MemberPublic(BaseModel):
    username: str
    display_name: str
    role: str


class CohortPublic(BaseModel):
    """A cohort; the join code and the full member list only for those who run it."""

    id: int
    name: str
    join_code: str | None
    join_url: str | None = None
    members: list[MemberPublic] = []


class MemberAdd(BaseModel):
    """Faculty adding an account to a cohort by username."""

    username: str = Field(min_length=1, max_length=64)


class JoinRequest(BaseModel):
    """A student's join code."""

    join_code: str = Field(min_length=1, max_length=32)
