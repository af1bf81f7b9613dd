"""The cross-field rules read whatever the YAML held, broken types included."""

from __future__ import annotations

from shardplan_schemas.spec_rules import spec_rule_violations


def test_a_phase_name_of_the_wrong_type_is_left_to_the_model_and_other_rules_still_run() -> None:
    data = {
        "phases": [
            {"phase": [], "execution": {"strategy": "chunk", "scene_batch_size": 2}},
            {"phase": {"a": 1}, "agents": ["x"]},
        ]
    }
    found = {(v.code, v.pointer_text) for v in spec_rule_violations(data)}
    assert found == {
        ("SP310", "/phases/0/execution/strategy"),
        ("SP311", "/phases/0/execution/scene_batch_size"),
    }
