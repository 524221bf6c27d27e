"""Whatever the input, load_text answers with errors, never an exception."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specs import KINDS, load_text

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELD_NAMES = ["workspace", "organization", "brand", "campaign", "select", "number", "count", "assignee",
               "assignees", "entityType", "country", "postalCode", "state", "ein", "usecase", "subUsecases",
               "samples", "url", "event", "service", "signingKey", "eventFilters", "fromEnv", "fromFile",
               "key", "value", "phoneNumber", "prefix", "type", "multiSmsNumbers", "limit", "enabled",
               "weeklyPrice", "class", "vetting", "website", "embeddedLink", "stockSymbol", "altBusinessId"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**20), st.text(max_size=30),
                    st.sampled_from(["US", "+1415", "+14155550100", "MIXED", "PUBLIC_PROFIT", "sms.inbound",
                                     "channels", "base", "a@b.example", "https://x.example", "2.99", ""]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), inner, max_size=5),
                      max_leaves=20)
documents = st.fixed_dictionaries({
    "apiVersion": st.sampled_from(["senderctl/v1", "senderctl/v1", "v2"]),
    "kind": st.sampled_from([*KINDS, "Nope"]),
    "metadata": st.one_of(st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "Bad", "base"])}), values),
    "spec": st.one_of(st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=8), values),
})


@FUZZ
@given(st.lists(documents, min_size=1, max_size=4))
def test_random_documents_never_raise(docs: list[dict]) -> None:
    result = load_text(yaml.safe_dump_all(docs), "fuzz.yaml")
    for error in result.errors:
        assert str(error).startswith("fuzz.yaml:")


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(raw: bytes) -> None:
    load_text(raw, "bytes.yaml")


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("{}[]-:,&*!|>'\"#%@` \n\tab1?")), max_size=200))
def test_random_yaml_punctuation_never_raises(text: str) -> None:
    load_text(text, "punct.yaml")
