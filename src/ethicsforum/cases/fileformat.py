"""The case file format: Markdown with YAML front matter, parsed with line-exact problems.

`parse_case_file` turns text into a `CaseDocument` or raises `CaseFileInvalid` listing every
problem with its line; `render_case_file` writes the canonical text back, so that
render(parse(text)) == text for any file already in canonical form.

Case files arrive from strangers (the import and check APIs, bundles), so the front matter is
read by `load_front_matter`, a SafeLoader that refuses anchors and aliases (a few hundred bytes
of nested aliases expand to billions of values) and stops at `MAX_DEPTH` levels of nesting (the
composer recurses once per level), `MAX_NODES` values and `MAX_SCALAR_CHARS` characters in one
value, before anything is built. No case needs any of them: the format nests three levels deep.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ethicsforum.cases.models import CaseStatus
from ethicsforum.params import BodyVersion

MAX_FILE_CHARS = 256 * 1024
MAX_VIGNETTE = 50_000
MAX_FRONT_MATTER_CHARS = 128 * 1024
MAX_DEPTH = 20
MAX_NODES = 5_000
MAX_SCALAR_CHARS = 20_000
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_HINT = "lowercase letters, digits and single hyphens, e.g. duty-to-warn-partner"
FRONT_MATTER_KEYS = (
    "slug",
    "title",
    "summary",
    "question",
    "options",
    "frameworks",
    "tags",
    "status",
    "version",
    "references",
    "learning_objectives",
    "derived_from",
    "four_box",
)


def _slug(value: str, what: str = "slug") -> str:
    if not SLUG_RE.match(value):
        raise ValueError(f"{what} must be {SLUG_HINT}")
    return value


def _unique(values: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears more than once")
        seen.add(value)


class CaseOption(BaseModel):
    """A possible answer to the case's question."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=200)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        return _slug(value, "an option key")


class DerivedFrom(BaseModel):
    """The case and version a copy was made from."""

    model_config = ConfigDict(extra="forbid")

    slug: str
    version: BodyVersion

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return _slug(value)


class FourBox(BaseModel):
    """Jonsen, Siegler and Winslade's four topics, each optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    medical_indications: str | None = Field(default=None, max_length=4000)
    patient_preferences: str | None = Field(default=None, max_length=4000)
    quality_of_life: str | None = Field(default=None, max_length=4000)
    contextual_features: str | None = Field(default=None, max_length=4000)


class CaseContent(BaseModel):
    """Every content field of a case: what a case file, the API and the editor all carry."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=1000)
    question: str = Field(min_length=1, max_length=1000)
    options: list[CaseOption] = Field(min_length=2, max_length=6)
    frameworks: list[str] = Field(min_length=1, max_length=20)
    tags: list[str] = Field(default_factory=list, max_length=20)
    references: list[str] = Field(default_factory=list, max_length=50)
    learning_objectives: list[str] = Field(default_factory=list, max_length=30)
    four_box: FourBox | None = None
    derived_from: DerivedFrom | None = None
    vignette: str = Field(min_length=1, max_length=MAX_VIGNETTE)

    @field_validator("options")
    @classmethod
    def _option_keys_unique(cls, value: list[CaseOption]) -> list[CaseOption]:
        _unique([o.key for o in value], "option key")
        return value

    @field_validator("frameworks")
    @classmethod
    def _frameworks(cls, value: list[str], info: Any) -> list[str]:
        allowed = (info.context or {}).get("frameworks")
        for name in value:
            if allowed is not None and name not in allowed:
                raise ValueError(
                    f"framework {name!r} is not configured; expected one of " + ", ".join(allowed)
                )
        _unique(value, "framework")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if len(tag) > 40:
                raise ValueError(f"tag {tag!r} is longer than 40 characters")
            _slug(tag, f"tag {tag!r}")
        _unique(value, "tag")
        return value

    @field_validator("references", "learning_objectives")
    @classmethod
    def _non_empty_lines(cls, value: list[str]) -> list[str]:
        cleaned = [item.strip() for item in value]
        if any(not item for item in cleaned):
            raise ValueError("entries must not be empty")
        if any(len(item) > 1000 for item in cleaned):
            raise ValueError("entries must be at most 1000 characters")
        return cleaned

    @field_validator("vignette")
    @classmethod
    def _vignette(cls, value: str) -> str:
        return value.strip("\n").rstrip()


class CaseDocument(CaseContent):
    """A whole case file: identity, state and content."""

    slug: str = Field(min_length=1, max_length=80)
    status: CaseStatus = CaseStatus.draft
    version: BodyVersion = 1

    @field_validator("slug")
    @classmethod
    def _slug_shape(cls, value: str) -> str:
        return _slug(value)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a case file."""

    line: int
    field: str
    message: str
    source: str = "<case file>"

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{self.source}:{self.line}: {where}{self.message}"


class CaseFileInvalid(ValueError):
    """A case file with one or more problems, each with its line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FrontMatterRefused(ValueError):
    """Front matter the bounded loader will not build, with the line (from 0) where it stopped."""

    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(message)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases and bounds depth, nodes and value size."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            raise FrontMatterRefused(
                line,
                f"uses the alias *{event.anchor}; case files may not use YAML anchors (&name) "
                "or aliases (*name): write each value out in full",
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise FrontMatterRefused(
                line,
                f"defines the anchor &{anchor}; case files may not use YAML anchors (&name) "
                "or aliases (*name): write each value out in full",
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise FrontMatterRefused(line, f"holds more than {MAX_NODES} values; expected fewer")
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
            raise FrontMatterRefused(
                line,
                f"holds a value of {len(event.value)} characters; "
                f"expected at most {MAX_SCALAR_CHARS}",
            )
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise FrontMatterRefused(
                    line,
                    f"is nested more than {MAX_DEPTH} levels deep; a case file needs at most 3",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_front_matter(front: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree and the data of a front matter, within the limits above.

    Raises FrontMatterRefused, or yaml.YAMLError for text that is not YAML.
    """
    if len(front) > MAX_FRONT_MATTER_CHARS:
        raise FrontMatterRefused(
            -1,
            f"the front matter is {len(front)} characters; "
            f"expected at most {MAX_FRONT_MATTER_CHARS}",
        )
    loader = _BoundedLoader(front)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def _locate(
    node: yaml.Node, offset: int, source: str
) -> tuple[dict[tuple[Any, ...], int], list[Problem]]:
    """Map each path in the YAML tree to its file line; report keys given twice."""
    lines: dict[tuple[Any, ...], int] = {}
    duplicates: list[Problem] = []

    def walk(n: yaml.Node, path: tuple[Any, ...]) -> None:
        # A key's own line wins over the line its value starts on.
        lines.setdefault(path, n.start_mark.line + offset)
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in n.value:
                key = key_node.value
                line = key_node.start_mark.line + offset
                if key in seen:
                    duplicates.append(
                        Problem(
                            line,
                            _dotted(path + (key,)),
                            f"given twice (first on line {seen[key]}); expected once",
                            source,
                        )
                    )
                seen[key] = line
                lines[path + (key,)] = line
                walk(value_node, path + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for index, item in enumerate(n.value):
                walk(item, path + (index,))

    walk(node, ())
    return lines, duplicates


def _dotted(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int], default: int) -> int:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return default


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a field of the case file format; expected one of " + ", ".join(
            FRONT_MATTER_KEYS
        )
    if kind == "string_type":
        return "expected text (quote it if YAML reads it as a number, date or yes/no)"
    if kind in {"list_type"}:
        return "expected a list"
    if kind in {"dict_type", "model_type"}:
        return "expected a mapping of keys to values"
    if kind == "enum":
        return "expected one of " + ", ".join(s.value for s in CaseStatus)
    msg: str = error["msg"]
    return msg.removeprefix("Value error, ")


def parse_case_file(
    text: str,
    *,
    frameworks: Sequence[str] | None = None,
    source: str = "<case file>",
    expected_slug: str | None = None,
) -> CaseDocument:
    """Parse a case file, raising CaseFileInvalid with every problem found."""

    def fail(line: int, field: str, message: str) -> CaseFileInvalid:
        return CaseFileInvalid([Problem(line, field, message, source)])

    if text.startswith("\ufeff"):
        text = text[1:]
    if len(text) > MAX_FILE_CHARS:
        raise fail(1, "", f"the file is {len(text)} characters; expected at most {MAX_FILE_CHARS}")
    text = text.replace("\r\n", "\n")
    all_lines = text.split("\n")
    if not all_lines or all_lines[0].strip() != "---":
        raise fail(1, "", "expected the file to open with a '---' line starting YAML front matter")
    try:
        close = next(i for i in range(1, len(all_lines)) if all_lines[i].strip() == "---")
    except StopIteration:
        raise fail(len(all_lines), "", "expected a '---' line closing the front matter") from None
    front = "\n".join(all_lines[1:close])
    body = "\n".join(all_lines[close + 1 :])
    body_line = close + 2

    try:
        node, data = load_front_matter(front)
    except FrontMatterRefused as exc:
        raise fail(exc.line + 2, "", f"the front matter {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 2) if mark else 2
        raise fail(line, "", f"the front matter is not valid YAML: {exc.problem}") from None
    except yaml.reader.ReaderError as exc:
        line = front[: exc.position].count("\n") + 2
        message = f"holds the character #x{exc.character:04x}, which YAML does not allow"
        raise fail(line, "", f"the front matter is not valid YAML: it {message}") from None
    if not isinstance(data, dict) or node is None:
        raise fail(2, "", "expected the front matter to be a mapping of keys to values")

    lines, problems = _locate(node, offset=2, source=source)
    for key in data:
        if not isinstance(key, str):
            problems.append(Problem(lines.get((key,), 2), str(key), "keys must be text", source))
    payload = dict(data)
    payload["vignette"] = body
    lines[("vignette",)] = body_line

    try:
        document = CaseDocument.model_validate(
            payload, context={"frameworks": list(frameworks) if frameworks else None}
        )
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            field = _dotted(loc)
            if field == "vignette":
                field = "vignette (the Markdown after the front matter)"
            problems.append(Problem(_line_for(loc, lines, 1), field, _message(error), source))
        document = None

    if document is not None and expected_slug is not None and document.slug != expected_slug:
        problems.append(
            Problem(
                lines.get(("slug",), 2),
                "slug",
                f"expected {expected_slug!r} to match the file name",
                source,
            )
        )
    if problems:
        problems.sort(key=lambda p: p.line)
        raise CaseFileInvalid(problems)
    return document  # type: ignore[return-value]  # problems is empty, so it was parsed


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line text keeps its line breaks as a literal block.
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_representer)


def front_matter(document: CaseDocument) -> dict[str, Any]:
    """The front matter fields in their canonical order, optional ones only when set."""
    data = document.model_dump(mode="json", exclude={"vignette"}, exclude_none=True)
    if "four_box" in data and not data["four_box"]:
        del data["four_box"]
    return {key: data[key] for key in FRONT_MATTER_KEYS if key in data}


def render_case_file(document: CaseDocument) -> str:
    """The canonical case file text for a document."""
    head = yaml.dump(
        front_matter(document),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return f"---\n{head}---\n{document.vignette}\n"
