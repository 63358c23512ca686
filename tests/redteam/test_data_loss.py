"""Red team, data loss: an output folder can never destroy input data, a study file or a foreign folder.

Every refusal happens before any analysis runs (the tests would take minutes otherwise) and is a
``ReportError`` (exit 2 on the command line) naming the rule.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.errors import ReportError
from cohortstat.outputs import MARKER, is_marked, prepare
from cohortstat.run import rerun, run

from ._safety import STUDY, fake_report, leftovers, synth

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("loss") / "data")


@pytest.fixture(scope="module")
def report(data, tmp_path_factory):
    """One real run (about 20 s): the folder is marked and holds every output."""
    return run(STUDY, data, tmp_path_factory.mktemp("loss_run") / "out")


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*")}


def test_a_published_report_folder_is_marked(report):
    assert is_marked(report)
    assert (report / MARKER).read_text(encoding="utf-8").startswith("This folder was written by cohortstat")
    assert leftovers(report.parent) == []


@pytest.mark.parametrize("where", ["data", "inside_data", "parent_of_data"])
def test_out_at_inside_or_around_the_data_folder_is_refused_even_with_force(where, data, tmp_path):
    local = tmp_path / "box" / "data"
    shutil.copytree(data, local)
    out = {"data": local, "inside_data": local / "report", "parent_of_data": local.parent}[where]
    before = _snapshot(local)
    with pytest.raises(ReportError, match="the data folder"):
        run(STUDY, local, out, force=True)
    assert _snapshot(local) == before
    assert leftovers(local) == [] and leftovers(local.parent) == []


@pytest.mark.parametrize("where", ["study_folder", "inside_study_folder"])
def test_out_at_or_inside_the_study_folder_is_refused_even_with_force(where, data, tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    study = folder / "study.yaml"
    study.write_text(STUDY.read_text(encoding="utf-8"), encoding="utf-8")
    out = folder if where == "study_folder" else folder / "out"
    with pytest.raises(ReportError, match="the folder of the study file"):
        run(study, data, out, force=True)
    assert study.read_text(encoding="utf-8") == STUDY.read_text(encoding="utf-8")
    assert sorted(p.name for p in folder.iterdir()) == ["study.yaml"]


def test_out_dot_and_the_project_root_are_refused(data, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "work").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(project / "work")
    for out in (".", "..", str(project)):
        with pytest.raises(ReportError, match="is or contains the (current folder|project root)"):
            prepare(out, force=True, protected=[("the data folder", data)])
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "work"]
    # a report folder inside the project is the ordinary case
    staging = prepare("out", force=False)
    assert staging.tmp.resolve().parent == (project / "work").resolve()
    staging.discard()
    assert sorted(p.name for p in (project / "work").iterdir()) == []


def test_force_never_replaces_a_folder_cohortstat_did_not_write(data, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    with pytest.raises(ReportError, match="did not write"):
        run(STUDY, data, out, force=True)
    assert (out / "thesis.docx").read_text() == "precious"
    assert leftovers(tmp_path) == []


def test_force_never_replaces_a_file_and_leaves_no_hidden_copy(data, tmp_path):
    out = tmp_path / "out"
    out.write_text("a file")
    with pytest.raises(ReportError, match="is a file"):
        run(STUDY, data, out, force=True)
    assert out.read_text() == "a file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_force_never_replaces_a_symbolic_link(data, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / MARKER).write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(ReportError, match="symbolic link"):
        run(STUDY, data, link, force=True)
    assert link.is_symlink() and (target / MARKER).is_file()


def test_parent_that_is_a_file_is_refused_before_any_analysis(data, tmp_path):
    (tmp_path / "afile").write_text("x")
    steps = []
    with pytest.raises(ReportError, match="afile is a file, not a folder"):
        run(STUDY, data, tmp_path / "afile" / "out", progress=steps.append)
    assert steps == ["load study"]


def test_unwritable_parent_is_refused_before_any_analysis(data, tmp_path):
    steps = []
    with pytest.raises(ReportError, match="cannot write the report folder"):
        run(STUDY, data, "/proc/cohortstat-report", progress=steps.append)  # read-only, even for root
    assert steps == ["load study"]


def test_read_only_parent_is_refused_before_any_analysis(data, tmp_path, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    with pytest.raises(ReportError, match="Permission denied; choose a writable --out"):
        run(STUDY, data, tmp_path / "new" / "deeper" / "out")
    assert list(tmp_path.iterdir()) == []  # the parents it created are removed again


def test_force_replaces_a_marked_report_folder(report, data, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(report, out)
    (out / "stale.txt").write_text("old")
    staging = prepare(out, force=True, protected=[("the data folder", data)])
    (staging.tmp / "results.json").write_text("{}")
    staging.publish()
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "results.json"]
    assert leftovers(tmp_path) == []


def test_rerun_never_deletes_an_existing_rerun_folder_without_force(data, tmp_path):
    out = fake_report(tmp_path / "out", data)
    existing = tmp_path / "out.rerun"
    existing.mkdir()
    (existing / MARKER).write_text("x")
    (existing / "results.json").write_text("{}")
    with pytest.raises(ReportError, match="--force"):
        rerun(out, data)
    assert (existing / "results.json").read_text() == "{}"
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ReportError, match="did not write"):
        rerun(out, data, out2=plain, force=True)
    assert plain.is_dir()
    with pytest.raises(ReportError, match="the report folder being verified"):
        rerun(out, data, out2=out / "inside", force=True)
    assert leftovers(tmp_path) == [] and leftovers(out) == []


def test_cli_rerun_without_force_keeps_the_existing_rerun_folder(data, tmp_path):
    out = fake_report(tmp_path / "out", data)
    (tmp_path / "out.rerun").mkdir()
    (tmp_path / "out.rerun" / MARKER).write_text("x")
    result = runner.invoke(app, ["rerun", str(out), "--data", str(data)])
    assert result.exit_code == 2 and "--force" in result.output
    assert (tmp_path / "out.rerun").is_dir()


def test_freeze_refuses_to_overwrite_a_runs_lock(report, tmp_path):
    from cohortstat.spec import freeze, load_study

    copy = tmp_path / "report"
    shutil.copytree(report, copy)
    before = (copy / "study.lock.json").read_bytes()
    with pytest.raises(ReportError, match="report folder"):
        freeze(load_study(STUDY), copy)
    result = runner.invoke(app, ["freeze", str(STUDY), "--out", str(copy)])
    assert result.exit_code == 2 and "never replaced" in result.output
    # an unmarked folder holding a run's lock (data fingerprint) is refused too
    os.remove(copy / MARKER)
    result = runner.invoke(app, ["freeze", str(STUDY), "--out", str(copy)])
    assert result.exit_code == 2 and "lock of a run" in result.output
    assert (copy / "study.lock.json").read_bytes() == before
    assert "data_fingerprint" in json.loads(before)


def test_freeze_may_replace_its_own_lock(tmp_path):
    from cohortstat.spec import freeze, load_study

    study = load_study(STUDY)
    freeze(study, tmp_path)
    assert freeze(study, tmp_path) == tmp_path / "study.lock.json"


def test_synth_never_overwrites_data_it_did_not_write(data, tmp_path):
    real = tmp_path / "real"
    shutil.copytree(data, real)
    (real / "truth.json").unlink()  # real data have no planted truth
    before = _snapshot(real)
    result = runner.invoke(app, ["synth", "--patients", "50", "--out", str(real)])
    assert result.exit_code == 2 and "may be real data" in result.stderr
    assert _snapshot(real) == before
    again = runner.invoke(app, ["synth", "--patients", "50", "--seed", "2", "--out", str(tmp_path / "syn")])
    assert again.exit_code == 0  # a new folder, and a synthetic folder may be regenerated
    assert runner.invoke(app, ["synth", "--patients", "50", "--out", str(tmp_path / "syn")]).exit_code == 0
