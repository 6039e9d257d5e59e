"""Query costs from docs/privacy.md, without a host: the partition-selection delta table the doc
gives, the share of each measurement, and the refusals (no aggregate, an inexact epsilon, a
declared key list that misses a GROUP BY column)."""
from __future__ import annotations

import pytest

from parley_client import module
from parley_client.errors import ParleyError


def payload(sql, **policy):
    p = {"epsilon_per_query": "1", "min_group_size": 50, "max_groups_per_unit": 1}
    p.update(policy)
    return {"policy": p, "queries": {"q": {"sql": sql, "receivers": ["brand"]}}}


SQL = "SELECT e.campaign, COUNT(DISTINCT e.u) AS n, SUM(p.amount) AS s FROM e JOIN p ON e.u = p.u GROUP BY e.campaign"


def test_the_partition_selection_delta_is_the_table_of_the_privacy_doc():
    for k, expected in ((10, 0.029), (20, 0.001), (50, 4.7e-8), (100, 2.7e-15)):
        cost = module.query_cost(payload(SQL, min_group_size=k), "q")
        assert cost.measurements == ["distinct-units", "group-count", "sum:p.amount"]
        assert cost.partition_selection_delta == pytest.approx(expected, rel=0.04), k


def test_avg_shares_its_sum_and_count_and_public_partitions_need_no_group_count():
    sql = "SELECT e.c, AVG(p.amount) AS a, SUM(p.amount) AS s, COUNT(*) AS n, COUNT(*) AS m FROM e JOIN p ON e.u = p.u GROUP BY e.c"
    cost = module.query_cost(payload(sql), "q")
    assert cost.measurements == ["distinct-units", "group-count", "sum:p.amount", "row-count"]
    whole = module.query_cost(payload("SELECT COUNT(DISTINCT e.u) AS n FROM e"), "q")
    assert whole.partitions == "whole" and whole.measurements == ["distinct-units"] and whole.partition_selection_delta == 0
    gaussian = module.query_cost(payload(SQL, delta="1e-9"), "q")
    assert gaussian.mechanism == "discrete-gaussian" and str(gaussian.delta) == "1/1000000000"


def test_costs_that_cannot_be_computed_are_refused_with_their_reason():
    with pytest.raises(ParleyError) as e:
        module.query_cost(payload("SELECT e.c FROM e GROUP BY e.c"), "q")
    assert "at least one aggregate" in e.value.message
    with pytest.raises(ParleyError) as e:
        module.query_cost(payload(SQL, epsilon_per_query="one"), "q")
    assert "epsilon_per_query" in e.value.message
    m = payload(SQL)
    m["queries"]["q"]["group_keys"] = [["e.region", ["1"]]]
    with pytest.raises(ParleyError) as e:
        module.query_cost(m, "q")
    assert "e.campaign is missing" in e.value.message
    with pytest.raises(ParleyError) as e:
        module.query_cost(m, "other")
    assert "declares no query other" in e.value.message

