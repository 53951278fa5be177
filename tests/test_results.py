"""labkit.experiments.results: tables and JSON are written atomically: whole, or not at all."""

import pandas as pd
import pytest

from labkit.experiments.results import atomic_write, write_csv, write_json, write_table


def test_each_writer_round_trips_and_leaves_no_temporary_file(tmp_path):
    frame = pd.DataFrame({"setting": ["a", "b"], "ctr": [0.25, 0.5]})
    write_csv(frame, tmp_path / "out" / "summary.csv")
    write_table(frame, tmp_path / "out" / "table.parquet")
    write_json({"seed": 3}, tmp_path / "out" / "meta.json")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "summary.csv"), frame)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "table.parquet"), frame)
    assert (tmp_path / "out" / "meta.json").read_text() == '{\n  "seed": 3\n}\n'
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["meta.json", "summary.csv", "table.parquet"]


def test_a_write_that_fails_midway_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "summary.csv"
    write_csv(pd.DataFrame({"x": [1]}), target)
    before = target.read_bytes()

    def half_then_fail(tmp):
        with open(tmp, "w") as handle:
            handle.write("x\n9")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]
