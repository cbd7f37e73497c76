"""`Gate.explain`, readable records and the report table."""

import trackgate

R = trackgate.DropReason


def test_explain_names_the_rule_and_values_without_counting(gate):
    explained = gate.explain("photo.uploaded", 5000)
    assert explained.decision == trackgate.Decision.DROP(reason=R.OVERSIZE)
    assert explained.refused_by == R.OVERSIZE
    assert (explained.plan_version, explained.max_bytes, explained.size_bytes) == (3, 1000, 5000)
    assert "5000 bytes, cap 1000  <- refused here" in gate.explain_text("photo.uploaded", 5000)
    sampled = gate.explain("scroll.depth", 1)
    assert (sampled.sample_rate_ppm, sampled.refused_by) == (0, R.SAMPLED_OUT)
    assert sampled.unit_value is not None
    for _ in range(3):
        assert gate.explain("search.typed", 1).tokens_left == 1
    assert gate.take_report().report.offered == 0
    for name in ("checkout.completed", "photo.uploaded", "scroll.depth", "typo.evnt"):
        assert gate.explain(name, 5000).decision == gate.decide(name, 5000)


def test_records_show_their_fields_and_a_report_prints_as_a_table(gate):
    gate.decide("checkout.completed", 120)
    gate.decide("typo.evnt", 7)
    taken = gate.take_report()
    assert repr(taken.report.dropped).startswith("ReasonCounts(disabled=0, invalid_name=0, unregistered=1,")
    assert "name='checkout.completed'" in repr(taken.report.events[0])
    assert repr(gate.decide("checkout.completed", 1)) == "Decision.KEEP(weight=1.0)"
    table = str(taken)
    assert table.startswith("shop/prod plan version 3, ")
    assert "offered 2, kept 1 (120 bytes), dropped 1 (7 bytes): unregistered 1" in table
    assert any(line.split()[:3] == ["checkout.completed", "P0", "1"] for line in table.splitlines())
    assert taken.table == table
