"""Demo data for `serve --demo`: accounts, a cohort and a discussion; never without that flag.

The demo discussion comes with a debate already under way, so that the summary, the debate
screen and the brief have something to show: six students' positions with framework-tagged
claims, rebuttals (one nested), an edited position, initial and final stances (two students
change their mind) and one exemplary mark. student1-3 take no part in it, so a newcomer
signing in as student1 still posts a position of their own.
"""

from __future__ import annotations

import re
import secrets
import textwrap
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ethicsforum.accounts import cohorts
from ethicsforum.accounts import service as accounts_service
from ethicsforum.accounts.models import Account, Cohort, Membership
from ethicsforum.cases.models import EthicsCase
from ethicsforum.config import Settings
from ethicsforum.db import write_session
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions.models import (
    Anonymity,
    Direction,
    Discussion,
    Phase,
    Position,
    Rebuttal,
    RebuttalKind,
    StanceMoment,
)
from ethicsforum.moderation import service as moderation

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - shown on the sign-in page in demo mode
DEMO_ACCOUNTS = [
    ("faculty", "faculty", "Dr Demo Faculty", None),
    ("student1", "student", "Demo Student One", "medicine"),
    ("student2", "student", "Demo Student Two", "nursing"),
    ("student3", "student", "Demo Student Three", "pharmacy"),
    ("committee", "committee", "Demo Committee Member", None),
    ("admin", "admin", "Demo Admin", None),
]
# The classmates whose debate is already under way; not offered on the sign-in page, so a
# newcomer picks an account that has not posted yet.
DEMO_CLASSMATES = [
    ("student4", "student", "Demo Student Four", "medicine"),
    ("student5", "student", "Demo Student Five", "nursing"),
    ("student6", "student", "Demo Student Six", "pharmacy"),
    ("student7", "student", "Demo Student Seven", "medicine"),
    ("student8", "student", "Demo Student Eight", "nursing"),
    ("student9", "student", "Demo Student Nine", "social work"),
]
DEMO_STUDENTS = [u for u, role, *_ in DEMO_ACCOUNTS + DEMO_CLASSMATES if role == "student"]
DEMO_COHORT = "Demo cohort: clinical ethics seminar"
DEMO_CASE = "duty-to-warn-threat"


def _account(
    session: Session, username: str, role: str, name: str, profession: str | None
) -> Account:
    found = session.exec(select(Account).where(Account.username == username)).first()
    if found is not None:
        return found
    return accounts_service.create_account(
        session,
        new=accounts_service.NewAccount(
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            display_name=name,
            profession=profession,
        ),
    )


def ensure_demo(settings: Settings, engine: Engine) -> None:
    """Create whatever part of the demo data does not exist yet."""
    with write_session(engine) as session:
        accounts = {
            u: _account(session, u, r, n, p) for u, r, n, p in DEMO_ACCOUNTS + DEMO_CLASSMATES
        }
        cohort = session.exec(select(Cohort).where(Cohort.name == DEMO_COHORT)).first()
        if cohort is None:
            cohort = cohorts.create_cohort(session, name=DEMO_COHORT, creator=accounts["faculty"])
        for username in DEMO_STUDENTS:
            # Never a second row, and never bring back a student the faculty removed.
            membership = session.exec(
                select(Membership).where(
                    Membership.cohort_id == cohort.id,
                    Membership.account_id == accounts[username].id,
                )
            ).first()
            if membership is None:
                cohorts.add_member(
                    session, cohort=cohort, actor=accounts["faculty"], username=username
                )
        case = session.exec(select(EthicsCase).where(EthicsCase.slug == DEMO_CASE)).first()
        if case is None:
            return
        discussion = session.exec(
            select(Discussion).where(Discussion.cohort_id == cohort.id).order_by(col(Discussion.id))
        ).first()
        if discussion is None:
            discussion = Discussion(
                case_id=case.id or 0,
                case_version=case.current_version,
                cohort_id=cohort.id or 0,
                title="Demo debate: a threat in the outpatient clinic",
                anonymity=Anonymity.anonymous_to_peers.value,
                post_first=True,
                pseudonym_key=secrets.token_hex(32),
                created_by_id=accounts["faculty"].id or 0,
            )
            session.add(discussion)
            session.commit()
        # The debate is seeded once, into a demo discussion nobody has posted in yet.
        untouched = (
            session.exec(select(Position.id).where(Position.discussion_id == discussion.id)).first()
            is None
        )
        if untouched and discussion.case_id == case.id and discussion.phase != Phase.closed:
            _seed_debate(session, discussion_id=discussion.id or 0, accounts=accounts)


# ---- the seeded debate -----------------------------------------------------------------


def _flat(text: str) -> str:
    """One paragraph from an indented block (claims and summaries are plain text)."""
    return " ".join(text.split())


def _md(text: str) -> str:
    """A Markdown body from an indented block, one line per paragraph or list item.

    (As a student would type it: the revisions page shows the raw text as written.)
    """
    blocks = []
    for block in textwrap.dedent(text).strip().split("\n\n"):
        lines: list[str] = []
        for line in block.splitlines():
            if lines and not re.match(r"\d+\. |- ", line):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.strip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _claim(framework: str, direction: Direction, text: str) -> discussions.ClaimInput:
    return discussions.ClaimInput(framework=framework, direction=direction, text=_flat(text))


SUPPORTS, CHALLENGES = Direction.supports, Direction.challenges


@dataclass(frozen=True)
class _Position:
    author: str
    option: str
    summary: str
    body: str
    claims: tuple[discussions.ClaimInput, ...]


@dataclass(frozen=True)
class _Reply:
    key: str
    author: str
    answers: str  # the author of the position this rebuttal is in
    kind: RebuttalKind
    body: str
    on_claim: int | None = None  # index of a claim of the post answered (the parent, if any)
    parent: str | None = None  # key of the rebuttal answered
    claims: tuple[discussions.ClaimInput, ...] = ()


INITIAL_STANCES = {
    "student4": "disclose-to-police",
    "student5": "mental-health-act-assessment",
    "student6": "keep-confidence-intensify",
    "student7": "seek-consent-first",
    "student9": "mental-health-act-assessment",
}
# student6 and student9 change their mind during the rebuttals.
FINAL_STANCES = {
    "student4": "disclose-to-police",
    "student6": "seek-consent-first",
    "student7": "seek-consent-first",
    "student9": "disclose-to-police",
}

POSITIONS = [
    _Position(
        author="student4",
        option="disclose-to-police",
        summary=_flat(
            """Tell the police today. A named victim, a stated time, a weapon and a history of
            violence meet the GMC test for disclosure in the public interest. Share only what
            they need to protect her, and tell him unless that would put her at risk."""
        ),
        body=_md(
            """
            He named a person, a time (the end of her late shift on Friday) and a weapon he
            says is already in his van. Add the recent separation, the non-molestation order
            that followed him damaging her car, a previous conviction for assault and his
            drinking, and this is a high-risk presentation on any structured risk assessment.
            Saying he was "just venting" only after the registrar voiced concern is a
            retraction, not a change in the risk.

            England has no statutory duty to warn, so this is not *Tarasoff*. But GMC guidance
            permits disclosure without consent where failing to disclose may expose others to
            a risk of death or serious harm, and in *W v Egdell* the Court of Appeal upheld a
            psychiatrist's disclosure made to protect the public.

            What I would do this afternoon:

            1. Phone the on-call consultant, agree the decision and record the reasoning.
            2. Tell him I am worried enough to share what he said, unless that is unsafe in
               the room; if he is about to leave in the van with the knife, call 999 first.
            3. Give the police only what they need to protect her: the threat, the time and
               place, the knife in the van and who she is. Not his diagnosis, his medication
               or the rest of what he has said in therapy.
            4. Keep treating him. Disclosure ends a secret, not our care.
            """
        ),
        claims=(
            _claim(
                "beneficence",
                SUPPORTS,
                """The risk is specific and serious: an identifiable victim, a stated time and
                place, a weapon already in his van, a recent separation, previous violence and
                intoxication. He retracted only after concern was voiced, so the retraction
                does not lower that risk. Protecting her from death or serious injury is the
                weightiest welfare interest in the case.""",
            ),
            _claim(
                "justice",
                SUPPORTS,
                """She is the person at risk and the only one with no say in this consultation.
                GMC guidance and W v Egdell allow disclosure where a risk of death or serious
                harm outweighs the patient's interest in confidence, and the non-molestation
                order means the police already have a part in protecting her.""",
            ),
            _claim(
                "confidentiality",
                CHALLENGES,
                """Breaching confidence has real costs: it may end his engagement and deter
                other patients from speaking openly. That is why the disclosure must be limited
                to the threat, the time, the weapon and her identity, made to the police alone
                and explained to him as soon as that is safe.""",
            ),
        ),
    ),
    _Position(
        author="student5",
        option="mental-health-act-assessment",
        summary=_flat(
            """Request an urgent Mental Health Act assessment today. He is depressed,
            intoxicated and hopeless; an assessment looks at the risk to her and to himself
            together, without taking his words straight to the police."""
        ),
        body=_md(
            """
            "If I can't have a life, neither can she" is a threat to her, but it is also a
            statement of hopelessness from a man with a depressive episode, harmful drinking
            and a relationship that has just ended. He denies suicidal intent, yet the same
            factors raise his risk of suicide, and violence followed by suicide after a
            separation is a recognised pattern.

            An urgent assessment by an Approved Mental Health Professional and two doctors
            would look at both risks. If his depression is worse than it appears in clinic,
            admission would treat it and keep her safe at the same time, and what he said
            stays with professionals bound by confidentiality.

            I accept the limits: he has capacity, he has refused informal admission, and the
            Act can only be used if its criteria are genuinely met.
            """
        ),
        claims=(
            _claim(
                "beneficence",
                SUPPORTS,
                """His words mix a threat with hopelessness. Depression, harmful drinking, a
                recent separation and access to a knife raise his risk of suicide as well as of
                violence, whatever he says today. A specialist assessment looks at both risks
                and could start more intensive treatment.""",
            ),
            _claim(
                "confidentiality",
                SUPPORTS,
                """An assessment keeps what he said within health and social care: the AMHP and
                the assessing doctors owe him the same duty of confidence, whereas a disclosure
                to the police leaves the clinical team's control.""",
            ),
            _claim(
                "autonomy",
                CHALLENGES,
                """He has capacity and has declined informal admission. Detention overrides
                that refusal, so it is only justified if his depression is of a nature or
                degree that warrants hospital care, not merely because he may be dangerous.""",
            ),
        ),
    ),
    _Position(
        author="student6",
        option="keep-confidence-intensify",
        summary=_flat(
            """Keep his confidence for now and increase contact: see him again before Friday,
            work on the drinking and the anger, and disclose only if the risk rises. A breach
            today may end the one treatment that reduces the risk."""
        ),
        body=_md(
            """
            He came back for a sixth appointment and told the truth about how angry he is.
            That openness is the treatment working. If the first consequence of honesty is a
            call to the police, he is unlikely to come back, and the drinking and depression
            that drive the risk go untreated.

            There is no statutory duty to warn in England: GMC guidance *permits* disclosure
            in the public interest, it does not require it. The registrar can see him again
            tomorrow, arrange daily contact, ask him to leave the knife with someone else and
            review his drinking and his sertraline. If he does not engage, she can still
            disclose.
            """
        ),
        claims=(
            _claim(
                "confidentiality",
                SUPPORTS,
                """Therapy depends on patients saying the unsayable. Breaking confidence the
                first time he voices his anger teaches him, and anyone who hears of it, that
                honesty leads to the police. English law permits disclosure in the public
                interest but imposes no duty to warn.""",
            ),
            _claim(
                "autonomy",
                SUPPORTS,
                """He is an adult with capacity who has refused disclosure and explained what
                he meant. Overriding a competent refusal needs more than words said in anger
                that he has since withdrawn.""",
            ),
            _claim(
                "beneficence",
                CHALLENGES,
                """To be honest about my own option: treatment for depression and harmful
                drinking works over weeks, not two days. Sertraline will not settle his anger
                by Friday, so more contact only helps if he keeps the appointments.""",
            ),
        ),
    ),
    _Position(
        author="student7",
        option="seek-consent-first",
        summary=_flat(
            """Tell him what worries you and ask his consent to contact the police, while
            phoning the on-call consultant now. Consent may still be possible and makes the
            disclosure less damaging, but the decision has to be made today."""
        ),
        body=_md(
            """
            GMC guidance expects us to seek consent before disclosing in the public interest
            unless that is unsafe or impracticable. Here it is neither yet: he is in the room
            and coherent, and the threat concerns Friday. Asking is not a way of avoiding
            disclosure; it is the first step in doing it properly.

            I would tell him plainly that what he said about a knife and his former partner
            is something I cannot keep to myself, and ask whether he will agree to us sharing
            it and hand the knife over. At the same time I would phone the on-call consultant,
            who is available today. If he refuses, or if asking makes the risk worse, we
            disclose anyway, and either way we keep seeing him.
            """
        ),
        claims=(
            _claim(
                "autonomy",
                SUPPORTS,
                """He has capacity, so he is entitled to be asked. Seeking consent, as GMC
                guidance expects unless it is unsafe or impracticable, treats him as a
                participant in keeping her safe rather than a risk managed behind his back.""",
            ),
            _claim(
                "confidentiality",
                SUPPORTS,
                """A disclosure he has agreed to, or at least been told about beforehand, does
                far less damage to the therapeutic relationship than one he discovers when the
                police arrive.""",
            ),
            _claim(
                "justice",
                CHALLENGES,
                """Seeking consent cannot become a reason for delay. Her safety cannot wait
                for his own consultant to return from leave: the on-call consultant is
                available today, and if he refuses, the police still need to know before
                Friday.""",
            ),
        ),
    ),
    _Position(
        author="student8",
        option="disclose-to-police",
        summary=_flat(
            """Tell the police. A non-molestation order is already in force, so they have
            powers to act, and she is entitled to know of a threat to her life so that she can
            decide how to keep herself safe on Friday."""
        ),
        body=_md(
            """
            From a nursing and safeguarding point of view this is domestic abuse: a recent
            separation, damage to her property that led to a protective order, and now a
            threat to kill with a weapon and a time. Breaching a non-molestation order is a
            criminal offence and the police can act on it; we cannot search his van or
            protect her ourselves.

            She is also the person whose choices matter most on Friday. Only if the police
            know can she be warned and change her shift, her route home or where she stays.
            A referral to the local multi-agency risk assessment conference (MARAC) should
            follow.
            """
        ),
        claims=(
            _claim(
                "justice",
                SUPPORTS,
                """She is an identifiable person facing a threat to her life and has no voice
                in this consultation. The non-molestation order shows a court has already
                recognised the risk, and the police are the ones with powers to act on it.""",
            ),
            _claim(
                "autonomy",
                SUPPORTS,
                """Her autonomy counts too: she can only decide whether to change her shift,
                her route home or where she stays on Friday if someone tells the people who
                can warn her.""",
            ),
            _claim(
                "beneficence",
                CHALLENGES,
                """An arrest may end his treatment and leave him angrier and more isolated
                afterwards, so disclosure has to come with continued care, not instead of
                it.""",
            ),
        ),
    ),
    _Position(
        author="student9",
        option="mental-health-act-assessment",
        summary=_flat(
            """Request an urgent Mental Health Act assessment: an AMHP can weigh his mental
            state, the risk to her and the alternatives to detention together, and would
            consider safeguarding her as part of it."""
        ),
        body=_md(
            """
            As a social work student I see the Approved Mental Health Professional as the
            right person to lead this: the AMHP must consider all the circumstances, including
            less restrictive alternatives, and is used to working with domestic abuse and
            safeguarding. An assessment today does not rule out telling the police; it means
            people who know the Act see him before Friday.

            I am less sure the criteria are met than I was when I first read the case.
            """
        ),
        claims=(
            _claim(
                "beneficence",
                SUPPORTS,
                """An AMHP-led assessment brings a social as well as a medical view to a crisis
                driven by separation, drinking and depression, and can arrange community
                support or admission as he needs.""",
            ),
            _claim(
                "justice",
                CHALLENGES,
                """The Mental Health Act does not treat dependence on alcohol alone as a mental
                disorder. If the risk comes mainly from his drinking and anger, using the Act
                to contain it would be detention for dangerousness rather than for
                treatment.""",
            ),
        ),
    ),
]

REPLIES = [
    _Reply(
        key="imminence",
        author="student6",
        answers="student4",
        kind=RebuttalKind.challenge,
        on_claim=0,
        body=_md(
            """
            The risk is serious, but is it imminent? It is Wednesday afternoon and the threat
            is about Friday night. That leaves time to see him again, ask him to give up the
            knife and work on his anger before anyone calls the police. Disclosing today
            treats the first honest thing he has said as a crime report.
            """
        ),
        claims=(
            _claim(
                "confidentiality",
                CHALLENGES,
                """Calling the police today is likely to end his engagement with the clinic,
                and the drinking and depression that drive the risk would then go
                untreated.""",
            ),
        ),
    ),
    _Reply(
        key="not-imminence",
        author="student4",
        answers="student4",
        parent="imminence",
        on_claim=0,
        kind=RebuttalKind.counter,
        body=_md(
            """
            The GMC test is a risk of death or serious harm, not imminence, and two days is
            the time the police need to act: by Thursday evening it may be too late to find
            him or warn her. Engagement need not end either. The registrar can tell him why
            she is disclosing and offer the next appointment in the same conversation. A lost
            therapeutic relationship is a real harm, but it can be repaired; her death
            cannot.
            """
        ),
    ),
    _Reply(
        key="not-absolute",
        author="student5",
        answers="student6",
        on_claim=0,
        kind=RebuttalKind.counter,
        body=_md(
            """
            Confidentiality is important but not absolute. "No duty to warn" does not mean
            "no permission": GMC guidance permits disclosure where failing to disclose may
            expose others to a risk of death or serious harm, and in *W v Egdell* the Court of
            Appeal upheld a psychiatrist who disclosed for that reason. The public interest in
            confidential care is weighed against her safety; it is not a trump card.
            """
        ),
    ),
    _Reply(
        key="her-autonomy",
        author="student8",
        answers="student6",
        on_claim=1,
        kind=RebuttalKind.challenge,
        body=_md(
            """
            You weigh his autonomy, but what about hers? She cannot choose to change her shift
            or her route home if nobody tells her she has been threatened. A competent refusal
            protects his own interests; it does not entitle him to keep someone else ignorant
            of a threat to her life.
            """
        ),
        claims=(
            _claim(
                "autonomy",
                CHALLENGES,
                """Respecting autonomy includes the former partner's: keeping confidence leaves
                her unable to make informed decisions about her own safety on Friday.""",
            ),
        ),
    ),
    _Reply(
        key="criteria",
        author="student7",
        answers="student5",
        on_claim=0,
        kind=RebuttalKind.challenge,
        body=_md(
            """
            I doubt the criteria are met. He has a moderate depressive episode without
            psychotic features and is engaging as an outpatient, and the Act excludes
            dependence on alcohol as a mental disorder. There is also no holding power in an
            outpatient clinic (section 5(2) applies only to hospital inpatients), so he can
            leave long before an AMHP and two doctors arrive. If he is assessed and not
            detained, she is no safer on Friday and nobody has told the police.
            """
        ),
        claims=(
            _claim(
                "justice",
                CHALLENGES,
                """Using the Mental Health Act to contain a risk that comes mainly from anger,
                drinking and the end of a relationship would be detention for dangerousness
                rather than for treatment: unfair to him and a misuse of powers meant for
                people who need hospital care.""",
            ),
        ),
    ),
    _Reply(
        key="after-asking",
        author="student9",
        answers="student7",
        on_claim=0,
        kind=RebuttalKind.question,
        body=_md(
            """
            What happens in the minutes after you ask? If he refuses and walks out to his van,
            has asking warned him that the police are coming? GMC guidance lets you disclose
            without seeking consent when asking would be unsafe; how would you judge that in
            the room?
            """
        ),
    ),
    _Reply(
        key="what-to-share",
        author="student5",
        answers="student8",
        kind=RebuttalKind.question,
        body=_md(
            """
            What exactly would you tell the police? Do they need his diagnosis and medication,
            or only the threat, the time, the knife and who she is? And would you tell him
            before you phone, afterwards, or not at all?
            """
        ),
    ),
    _Reply(
        key="concede",
        author="student9",
        answers="student4",
        on_claim=1,
        kind=RebuttalKind.concede,
        body=_md(
            """
            I argued for an assessment, but I accept this. Even if he were assessed today he
            would probably not be detained, and then nothing would have been done to protect
            her by Friday. Telling the police does not stop us asking for an assessment as
            well if his mental state worsens.
            """
        ),
    ),
]

# student6 revises their position after the rebuttals: same option, a safety plan and a
# point at which they would disclose (claims keep their ids, so rebuttals keep their anchors).
REVISED_SUMMARY = _flat(
    """Keep confidence only if he agrees a safety plan today (the knife handed over, no
    contact on Friday, an appointment tomorrow). If he will not agree, I now accept that the
    registrar should disclose."""
)
REVISED_BODY_NOTE = _md(
    """
    **Edited after the rebuttals.** The point that she cannot protect herself without
    knowing is fair, and so is the one about the law: England permits disclosure here even
    without a duty to warn. I still think confidence is worth trying to keep, but only with a
    safety plan agreed today and a clear point at which we disclose.
    """
)
REVISED_CLAIM = _claim(
    "justice",
    CHALLENGES,
    """Keeping confidence leaves all of the risk with her, and she has no say in it. The plan
    needs a clear point at which we disclose: if he refuses to give up the knife or to stay
    away on Friday, the police must be told.""",
)

EXEMPLARY = moderation.ExemplaryInput(
    note=_flat(
        """Uses the facts of the vignette as a structured risk assessment (named victim, time,
        weapon, separation, previous violence, alcohol), applies the English test (GMC
        guidance on disclosure in the public interest and W v Egdell) rather than Tarasoff,
        names the cost to confidentiality in its own claims, and ends with a proportionate
        plan: who decides, what is shared, with whom, and when he is told."""
    ),
    criteria=[
        moderation.Criterion.principles,
        moderation.Criterion.weighs,
        moderation.Criterion.facts,
        moderation.Criterion.action,
    ],
)


def _seed_debate(session: Session, *, discussion_id: int, accounts: dict[str, Account]) -> None:
    """Positions, rebuttals, stances, an edit and an exemplary mark, through the services."""

    def as_(username: str) -> discussions.Access:
        return discussions.access(session, discussion_id=discussion_id, account=accounts[username])

    for username, option in INITIAL_STANCES.items():
        discussions.record_stance(
            session,
            found=as_(username),
            data=discussions.StanceInput(moment=StanceMoment.initial, option=option),
        )

    positions: dict[str, Position] = {}
    for spec in POSITIONS:
        positions[spec.author] = discussions.post_position(
            session,
            found=as_(spec.author),
            rate_limited=False,
            data=discussions.PositionInput(
                option=spec.option, summary=spec.summary, body=spec.body, claims=list(spec.claims)
            ),
        )

    discussions.edit_discussion(
        session, found=as_("faculty"), data=discussions.DiscussionEdit(phase=Phase.rebuttals)
    )

    replies: dict[str, Rebuttal] = {}
    for reply in REPLIES:
        position = positions[reply.answers]
        claim_id = None
        if reply.on_claim is not None:
            answered = (
                discussions.active_claims(session, rebuttal_ids=[replies[reply.parent].id or 0])
                if reply.parent is not None
                else discussions.active_claims(session, position_ids=[position.id or 0])
            )
            claim_id = answered[reply.on_claim].id
        replies[reply.key] = discussions.post_rebuttal(
            session,
            position=position,
            found=as_(reply.author),
            rate_limited=False,
            data=discussions.RebuttalInput(
                kind=reply.kind,
                body=reply.body,
                parent_id=replies[reply.parent].id if reply.parent is not None else None,
                claim_id=claim_id,
                claims=list(reply.claims),
            ),
        )

    revised = positions["student6"]
    kept = [
        discussions.ClaimInput(
            id=c.id, framework=c.framework, direction=Direction(c.direction), text=c.text
        )
        for c in discussions.active_claims(session, position_ids=[revised.id or 0])
    ]
    discussions.edit_position(
        session,
        position=revised,
        found=as_("student6"),
        data=discussions.PositionEdit(
            summary=REVISED_SUMMARY,
            body=f"{revised.body}\n\n{REVISED_BODY_NOTE}",
            claims=[*kept, REVISED_CLAIM],
        ),
    )

    for username, option in FINAL_STANCES.items():
        discussions.record_stance(
            session,
            found=as_(username),
            data=discussions.StanceInput(moment=StanceMoment.final, option=option),
        )

    moderation.mark_exemplary(
        session,
        t=moderation.target(
            session,
            kind="position",
            post_id=positions["student4"].id or 0,
            account=accounts["faculty"],
        ),
        data=EXEMPLARY,
    )
