"""`infiniscape runs DIR [--watch]`: the runs of a folder, of any format, as a terminal table."""

from __future__ import annotations

import time

from fixtures.sg2ada_runs import SG2Run, write_mixed_folder, write_sg2_run

from infiniscape.cli import main


def test_runs_command_prints_a_table(tmp_path, capsys):
    write_mixed_folder(tmp_path)
    assert main(["runs", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "format", "state", "kimg", "newest", "metric", "newest", "snapshot"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["00000-stylegan3-t-afhqv2-32x32-gpus1-batch32-gamma8.2"] == \
        ["sg2-ada", "finished", "20.0/20", "fid50k_full", "27.27", "(20", "kimg)",
         "network-snapshot-000020.pkl"]
    assert rows["00001-stylegan3-t-afhqv2-32x32-gpus1-batch32-gamma8.2"] == \
        ["sg2-ada", "crashed", "12.0/20", "-", "network-snapshot-000008.pkl"]
    assert rows["own"] == ["infiniscape", "killed", "0.5/1", "-", "-"]
    assert rows["ig"] == ["infinitygan", "crashed", "96.0/25600", "-", "ckpt/inter_00006000.pth.tar"]


def test_runs_watch_redraws_until_ctrl_c(tmp_path, capsys, monkeypatch):
    write_sg2_run(tmp_path, SG2Run())
    sleeps = []

    def sleep(s):
        sleeps.append(s)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", sleep)
    assert main(["runs", str(tmp_path), "--watch", "--interval", "0.5"]) == 0
    out = capsys.readouterr().out
    assert out.count("newest snapshot") == 2 and sleeps == [0.5, 0.5]


def test_runs_command_errors_are_one_line(tmp_path, capsys):
    assert main(["runs", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"infiniscape runs: error: {tmp_path / 'nope'} is not a folder: "
                           "give a run directory or a folder of runs")
    assert main(["runs", str(tmp_path)]) == 0 and capsys.readouterr().out.strip() == f"no runs in {tmp_path}"
