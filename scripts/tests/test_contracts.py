"""The JSON contracts the tooling validates its output against (contracts/*.schema.json)."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import PROJECT

from pockettts_tools.contracts import validate
from pockettts_tools.protocol import JobError

MANIFEST = json.loads((PROJECT / "fixtures" / "tiny-onnx" / "manifest.json").read_text(encoding="utf-8"))


def test_the_committed_export_manifest_meets_the_manifest_contract() -> None:
    validate("manifest", MANIFEST, "manifest.json")


@pytest.mark.parametrize(
    ("breakage", "place"),
    [
        (lambda m: m.pop("graphs"), "/: 'graphs' is a required property"),
        (lambda m: m["graphs"]["flow_lm_main"]["inputs"][0].update(dtype="float16"), "/graphs/flow_lm_main/inputs/0/dtype"),
        (lambda m: m["graphs"]["mimi_decoder"]["state"][0].update(kind="swap"), "/graphs/mimi_decoder/state/0/kind"),
        (lambda m: m.update(surprise=1), "'surprise' was unexpected"),
    ],
)
def test_a_manifest_that_breaks_the_contract_is_refused_naming_the_place(breakage, place: str) -> None:
    broken = copy.deepcopy(MANIFEST)
    breakage(broken)
    with pytest.raises(JobError) as caught:
        validate("manifest", broken, "manifest.json")
    assert caught.value.code == "CONTRACT_VIOLATION" and caught.value.kind == "runtime"
    assert place in caught.value.message
