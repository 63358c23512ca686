import pytest

from cohortstat.errors import SpecError
from cohortstat.spec import RunProfile, load_profile


def test_defaults():
    profile = load_profile()
    assert profile == RunProfile(engine="duckdb", threads=None, memory_limit=None, min_cell_count=10)


def test_from_yaml_file(tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text("engine: spark\nthreads: 2\nmemory_limit: 8GB\nmin_cell_count: 5\n")
    assert load_profile(path) == RunProfile(engine="spark", threads=2, memory_limit="8GB", min_cell_count=5)


def test_errors_are_located():
    with pytest.raises(SpecError) as info:
        load_profile({"engine": "postgres", "threads": 0, "memory_limit": "lots", "paths": "/data"})
    errors = dict(info.value.errors)
    assert errors["engine"] == "input should be 'duckdb' or 'spark'"
    assert errors["threads"] == "input should be greater than or equal to 1"
    assert errors["memory_limit"].startswith("invalid memory limit 'lots': write a number and a unit")
    assert errors["paths"] == ("unknown key; allowed keys: engine, threads, memory_limit, spark_master,"
                               " min_cell_count, jobs")


@pytest.mark.parametrize("master", ["local[2]", "local[*]", "local-cluster[2,1,1024]", "spark://127.0.0.1:7077",
                                    "spark://node-1.example.org:7077,node-2.example.org:7077"])
def test_spark_master_forms(master):
    assert load_profile({"engine": "spark", "spark_master": master}).spark_master == master
    assert load_profile({}).spark_master is None


@pytest.mark.parametrize("master, why", [
    ("yarn", "use local[N], local[*], local-cluster[W,C,MB] or spark://host:port"),
    ("local", "use local[N]"), ("local[0]", "use local[N]"), ("local-cluster[2,1]", "use local[N]"),
    ("spark://host", "use local[N]"), ("spark://host:99999", "a port is at most 65535"),
    ("local[2]; DROP", "use local[N]"),
])
def test_a_wrong_spark_master_names_the_key_and_the_forms_allowed(master, why):
    with pytest.raises(SpecError) as info:
        load_profile({"spark_master": master})
    [(loc, msg)] = info.value.errors
    assert loc == "spark_master" and msg.startswith(f"invalid Spark master {master!r}: ") and why in msg


def test_profile_file_problems(tmp_path):
    with pytest.raises(SpecError, match="cannot read the run profile"):
        load_profile(tmp_path / "missing.yaml")
    path = tmp_path / "p.yaml"
    path.write_text("- duckdb\n")
    with pytest.raises(SpecError, match="a run profile must be a mapping"):
        load_profile(path)
