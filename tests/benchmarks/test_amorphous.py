"""The "Other" benchmark's scoring on real structures: a liquid is Other for ARISE and PTM, a
noisy crystal is known; the table prints both."""

from ovito_arise.benchmarks.amorphous import markdown, noisy_bulk, score, solid_solution


def test_rows_for_a_liquid_and_crystals(liquid):
    rows = {"liquid": score([liquid], None),
            "bcc": score([noisy_bulk("bcc", 0.03, 0)], "bcc"),
            "alloy": score([solid_solution("fcc", 3, 0)], "fcc")}
    assert rows["liquid"]["ptm_other"] > 0.99 and rows["liquid"]["classify_other"] == 1.0
    assert rows["liquid"]["label_other"] == 1.0 and "label_right" not in rows["liquid"]
    for name in ("bcc", "alloy"):
        assert rows[name]["label_other"] == 0.0 and rows[name]["label_right"] == 1.0
    text = markdown(rows)
    assert text.count("\n") == 4 and "| liquid | 1 | " in text
