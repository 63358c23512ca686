"""Benchmark the cohort builder on a Spark standalone cluster started on this machine.

One data folder, the reference study, built three times, each in a fresh Python process
(``bench_cohort.run``): on DuckDB, on Spark ``local[N]`` and on a Spark standalone cluster of one
master and two workers started here for the run (``spark-class`` of the pyspark install, bound to
127.0.0.1, each worker 1 core and 3 GB by default; the cluster is stopped at the end, also after an
error). Prints the wall time of ``build_cohort`` per engine (the Spark session is started before the
clock), the times of the builder's steps, the number of Spark jobs, the executors the session had,
and whether the analysis table, attrition and notes are identical to DuckDB's (rows sorted by
``person_key``, every column compared exactly).

Usage::

    PYTHONPATH=. python benchmarks/bench_spark_cluster.py --data DIR
    PYTHONPATH=. python benchmarks/bench_spark_cluster.py --patients 200000 --seed 1 --out DIR

``--patients`` generates the data first with ``cohortstat.data.synth.generate``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cohort import _patients, data_arguments, data_folder, run  # noqa: E402  (the same worker as the engine comparison)

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class StandaloneCluster:
    """A Spark standalone master and ``workers`` workers on this machine, as a context manager.

    Started with ``spark-class`` from the pyspark package (its folder is ``SPARK_HOME``); every
    process is stopped on exit, error or not. ``url`` is the master's ``spark://`` address.
    """

    def __init__(self, work: Path, workers: int = 2, cores: int = 1, memory: str = "3g", timeout: float = 180):
        import pyspark

        self.home = Path(pyspark.__file__).resolve().parent
        self.work, self.workers, self.cores, self.memory, self.timeout = work, workers, cores, memory, timeout
        self.port, self.ui = _free_port(), _free_port()
        self.url = f"spark://{HOST}:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "SPARK_HOME": str(self.home), "SPARK_LOCAL_IP": HOST,
                    "SPARK_LOG_DIR": str(work / "logs"), "PYSPARK_PYTHON": sys.executable}

    def _start(self, name: str, cls: str, *args: str) -> None:
        log = open(self.work / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([str(self.home / "bin" / "spark-class"), cls, *args], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(proc)

    def _state(self) -> dict:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.ui}/json/", timeout=5) as resp:
                return json.loads(resp.read())
        except OSError:
            return {}

    def _wait(self, what: str, done) -> None:
        deadline = time.monotonic() + self.timeout
        while not done(self._state()):
            dead = [p.args[1] for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not start ({what}; stopped: {dead}); logs in {self.work}")
            time.sleep(1)

    def __enter__(self) -> StandaloneCluster:
        try:
            self._start("master", "org.apache.spark.deploy.master.Master", "--host", HOST, "--port",
                        str(self.port), "--webui-port", str(self.ui))
            self._wait("master", lambda s: s.get("status") == "ALIVE")
            for i in range(self.workers):
                folder = self.work / f"worker{i}"
                folder.mkdir()
                self._start(f"worker{i}", "org.apache.spark.deploy.worker.Worker", "--host", HOST,
                            "--cores", str(self.cores), "--memory", self.memory, "--work-dir", str(folder),
                            "--webui-port", str(_free_port()), self.url)
            self._wait(f"{self.workers} workers", lambda s: s.get("aliveworkers", 0) >= self.workers)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the workers (and their executors), then the master: SIGTERM, SIGKILL after 30 s."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


def compare(reference: dict, other: dict) -> str:
    """``identical``, or the first difference between two saved cohorts (table sorted by person_key)."""
    for part in ("table", "attrition"):
        a, b = reference[part], other[part]
        if part == "table":
            a, b = (f.sort_values("person_key", kind="stable").reset_index(drop=True) for f in (a, b))
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as exc:
            return f"{part} differs: {str(exc).splitlines()[0]}"
    return "identical" if reference["notes"] == other["notes"] else "notes differ"


def _line(name: str, r: dict, same: str) -> str:
    jobs = r.get("jobs", "-")
    return (f"{name:42} {r['rows']:>9,} {r['wall_s']:>8.1f} {r['cpu_s']:>7.1f} {jobs:>6} "
            f"{r.get('executors', '-'):>9} {r['rss_gb']:>6.2f} {r['rss_children_gb']:>7.2f}  {same}")


def main(argv: list[str] | None = None) -> None:
    ap = data_arguments(__doc__.splitlines()[0])
    ap.add_argument("--local-threads", type=int, default=2, help="N of Spark local[N]")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker-cores", type=int, default=1)
    ap.add_argument("--worker-memory", default="3g")
    ap.add_argument("--executor-memory", default="2g",
                    help="spark.executor.memory of the cluster runs (the cluster's spark-defaults.conf)")
    args = ap.parse_args(argv)
    data = data_folder(ap, args)
    os.environ["SPARK_LOCAL_IP"] = HOST  # the drivers of the cluster runs listen where the executors look
    print(f"patients {_patients(data):,}; load average before {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-spark-cluster-") as tmp:
        work = Path(tmp)
        results = {"duckdb": run(args.study, data, "duckdb", 0, save=work / "duckdb.pkl")}
        local = f"local[{args.local_threads}]"
        results[f"spark {local}"] = run(args.study, data, "spark", args.local_threads, save=work / "local.pkl")
        cluster_dir = work / "cluster"
        (cluster_dir / "conf").mkdir(parents=True)
        # the cluster's own executor settings, read by the driver as a site's spark-defaults.conf would be
        (cluster_dir / "conf" / "spark-defaults.conf").write_text(f"spark.executor.memory {args.executor_memory}\n")
        os.environ["SPARK_CONF_DIR"] = str(cluster_dir / "conf")
        with StandaloneCluster(cluster_dir, args.workers, args.worker_cores, args.worker_memory) as cluster:
            name = f"spark {cluster.url} ({args.workers}x{args.worker_cores} core)"
            results[name] = run(args.study, data, "spark", args.workers * args.worker_cores, master=cluster.url,
                                save=work / "cluster.pkl")
        saved = dict(zip(results, ("duckdb.pkl", "local.pkl", "cluster.pkl")))
        reference = pd.read_pickle(work / "duckdb.pkl")
        same = {name: compare(reference, pd.read_pickle(work / file)) for name, file in saved.items()}
    for name, r in results.items():
        print(f"{name}: steps " + ", ".join(f"{m} {t}s" for m, t in r["steps"]), flush=True)
    print()
    print(f"{'engine':42} {'rows':>9} {'wall s':>8} {'py cpu':>7} {'jobs':>6} {'executors':>9} {'RSS GB':>6} "
          f"{'JVM GB':>7}  vs DuckDB")
    for name, r in results.items():
        print(_line(name, r, same[name]))
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
