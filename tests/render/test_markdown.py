"""-o markdown: a PR comment that starts with the summary, escapes user text and fits 65,536 characters."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from controller.reconcile.plan import Change, Cost, FieldChange, Plan, Refusal, Waiting
from controller.render import render
from controller.render.markdown import LIMIT
from tests.render.plans import SECRET, mixed_plan, number_change

LINK_OR_MEDIA = {"link_open", "image"}


def tokens(markdown: str) -> list:
    """Every token, inline children included (CommonMark + tables, as GitHub renders)."""
    flat = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def html_fragments(markdown: str) -> list[str]:
    return [t.content for t in tokens(markdown) if t.type in ("html_block", "html_inline")]


def test_starts_with_the_summary_table_and_total_cost() -> None:
    md = render(mixed_plan(), "markdown")
    lines = md.splitlines()
    assert lines[0] == "### senderctl plan"
    assert lines[2].startswith("**Plan: 2 to create, 1 to update,")
    assert "| `+` create | 2 |" in lines and "| `x` delete | 1 |" in lines and "| `=` adopt | 1 |" in lines
    assert "| all changes | 2.30 | 5.98 | 0.50 |" in lines
    assert md.index("| Action | Count |") < md.index("#### Waiting") < md.index("#### Refused") < md.index("<details>")


def test_tables_parse_as_tables() -> None:
    types = [t.type for t in tokens(render(mixed_plan(), "markdown"))]
    assert types.count("table_open") == 2


def test_waiting_and_refusals_with_their_flags() -> None:
    md = render(mixed_plan(), "markdown")
    assert "- **Campaign/acme-alerts** — brand acme is PENDING" in md
    assert "(apply with `--allow-archive` to lift this)" in md
    assert "(no flag lifts this: change the specs)" in md


def diff_fences(md: str) -> list:
    """The code blocks of the changes (the plan's picture is a `mermaid` block of its own)."""
    return [t for t in tokens(md) if t.type == "fence" and t.info != "mermaid"]


def test_each_change_is_a_collapsible_block_with_a_diff() -> None:
    md = render(mixed_plan(), "markdown")
    assert md.count("<details><summary>") == md.count("</details>") == len(mixed_plan().changes)
    fences = diff_fences(md)
    assert len(fences) == len(mixed_plan().changes)
    update = next(f.content for f in fences if "url" in f.content)
    assert '~ url: "https://old.example/bird" -> "https://hooks.acme.example/bird"' in update
    assert '~ event: "sms.inbound" -> "sms.outbound"   (cannot change on Bird)' in update
    assert "drift: changed on Bird outside senderctl" in md
    assert "1.15 USD monthly, 2.99 USD weekly" in md


def test_5000_changes_fit_grouped_by_kind_and_end_with_the_remainder() -> None:
    plan = Plan("f" * 64, changes=tuple(number_change(i) for i in range(5000)),
                waiting=tuple(Waiting(f"Channel/line-{i:05d}", "campaign is not approved yet") for i in range(5000)))
    md = render(plan, "markdown")
    assert len(md) <= LIMIT
    assert md.startswith("### senderctl plan\n\n**Plan: 5000 to create,")
    assert "| all changes | 5750.00 | 14950.00 | 0.00 |" in md
    # One collapsible block for the kind, a line per change inside, as many as fit.
    assert md.count("<details>") == md.count("</details>") == 1
    assert "<details><summary><b>PhoneNumber</b> — 5000 changes (5000 create) · 5750.00 USD monthly, " \
           "14950.00 USD weekly</summary>" in md
    shown = md.count("\n- `+ create` **PhoneNumber/")
    assert 300 < shown < 5000
    assert f"- … and {5000 - shown} more PhoneNumber changes" in md
    assert md.rstrip("\n").endswith(f"… and {5000 - shown} more changes: the full plan is the JSON artifact "
                                     "(`senderctl plan --out plan.json`; `senderctl show plan.json`)")
    assert "- … and 4900 more waiting" in md
    # The picture is drawn by kind: the numbers, and the channels waiting (on numbers not in the plan).
    assert "Drawn by kind (10000 resources)" in md
    assert '["PhoneNumber #215; 5000 (create)"]:::create' in md


def test_changes_of_many_kinds_each_get_their_block() -> None:
    changes = tuple(number_change(i) for i in range(40)) + tuple(
        Change(f"Channel/line-{i:05d}", "create", "SMS channel", None, {"campaign": "alerts"}) for i in range(3))
    md = render(Plan("x", changes=changes), "markdown")
    assert md.count("<details>") == md.count("</details>") == 2
    assert "<b>Channel</b> — 3 changes (3 create)</summary>" in md
    assert md.count("\n- `+ create` **") == 43 and "more changes" not in md


def test_a_huge_single_change_is_shortened_not_cut_mid_block() -> None:
    fields = tuple(FieldChange(f"f{i}", "x" * 3000, "y" * 3000) for i in range(200))
    plan = Plan("x", changes=(Change("Campaign/huge", "update", "spec differs", None, None, fields=fields),))
    md = render(plan, "markdown")
    assert len(md) <= LIMIT
    assert "# … and 150 more fields" in md and md.count("</details>") == 1


def test_no_changes() -> None:
    md = render(Plan("x"), "markdown")
    assert "**No changes. Bird and the records match the specs.**" in md
    assert "<details>" not in md


HOSTILE = [
    "</summary></details><script>alert(1)</script>",
    "[click](https://evil.example) ![img](https://evil.example/x.png)",
    "| a | b |\n\n# heading",
    "```\n</details>\n```",
    "<img src=x onerror=alert(1)>",
    "@acme/everyone **bold** _it_ `code`",
]


def hostile_plan(text: str) -> Plan:
    return Plan("x", changes=(
        Change(f"PhoneNumber/{text}", "update", text, {"v": text}, {"v": "ok"}, fields=(FieldChange("v", text, "ok"),)),
    ), waiting=(Waiting(text, text),), refusals=(Refusal(text, text, None),))


def assert_inert(md: str, count: int = 1) -> None:
    found = tokens(md)
    assert not [t for t in found if t.type in LINK_OR_MEDIA]
    assert not [t for t in found if t.type in ("heading_open",) and t.tag != "h3" and t.tag != "h4"]
    fragments = html_fragments(md)
    # Only our own tags appear as HTML; none of the user's.
    allowed = ("<details>", "</details>", "<summary>", "</summary>", "<code>", "</code>", "<b>", "</b>")
    for fragment in fragments:
        rest = fragment
        for tag in allowed:
            rest = rest.replace(tag, "")
        assert "<" not in rest, fragment
    opened = sum(f.count("<details>") for f in fragments)
    closed = sum(f.count("</details>") for f in fragments)
    assert opened == closed == count
    assert len(diff_fences(md)) == count
    # The picture's labels hold no user character outside the safe set: the rest are entity codes.
    for fence in (t for t in found if t.type == "fence" and t.info == "mermaid"):
        for line in fence.content.splitlines()[1:]:
            assert re.fullmatch(r'  (n\d+\["[A-Za-z0-9 /._,:+=()#;\-\[\]]*"\]:::\w+|n\d+ --> n\d+|classDef \w+ [^"]*)',
                                line), line


def test_user_strings_cannot_break_the_comment() -> None:
    for text in HOSTILE:
        assert_inert(render(hostile_plan(text), "markdown"))


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_any_user_string_stays_inert(text: str) -> None:
    md = render(hostile_plan(text), "markdown")
    assert len(md) <= LIMIT
    assert_inert(md)


def test_payload_and_secrets_never_appear() -> None:
    plan = mixed_plan()
    plan = Plan(plan.fingerprint, changes=(*plan.changes, Change(
        "WebhookSubscription/k", "update", "key rotated", None, None, fields=(FieldChange("signingKey", SECRET, SECRET),))))
    md = render(plan, "markdown")
    assert SECRET not in md and "idempotencyKey" not in md


def test_decimal_money_in_summary_and_blocks() -> None:
    plan = Plan("x", changes=(Change("PhoneNumber/a", "create", "new", None, {},
                                     cost=Cost(Decimal("1.005"), Decimal("0"), Decimal("10"))),))
    md = render(plan, "markdown")
    assert "| all changes | 1.00 | 0.00 | 10.00 |" in md  # banker's rounding of the exact Decimal
    assert " · 1.00 USD monthly, 10.00 USD one-time</summary>" in md


def test_code_fence_outgrows_any_backtick_run() -> None:
    from controller.render.markdown import fence_for

    assert fence_for("plain") == "```"
    assert fence_for("a ```` b ` c") == "`````"
