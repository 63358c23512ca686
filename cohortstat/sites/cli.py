"""Multi-site commands of the ``cohortstat`` command line: inspect-package, site-step, pool.

``register(app)`` adds them to the Typer application of :mod:`cohortstat.cli`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cohortstat.errors import CohortstatError


def _fail(exc: BaseException) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def inspect_package_cmd(
    package: Path = typer.Argument(..., help="A site package folder (OUT/site_package, or OUT)."),
    numbers_only: bool = typer.Option(False, "--numbers-only", help="List numbers and suppressed cells only."),
) -> None:
    """List every number a site package holds (review it before it leaves the site)."""
    from cohortstat.sites.inspect import inspect_package

    try:
        typer.echo(inspect_package(package, numbers_only=numbers_only), nl=False)
    except CohortstatError as exc:
        _fail(exc)


def site_step_cmd(
    site_out: Path = typer.Argument(..., help="This site's run folder (OUT of `cohortstat run ... --site`)."),
    request: Path = typer.Option(..., "--request", help="The coordinator's request file (JSON)."),
    out: Path = typer.Option(..., "--out", help="The response file to write (JSON)."),
) -> None:
    """Answer one federated round: this site's log-likelihood, score and information at the requested beta."""
    from cohortstat.sites.node import site_step

    try:
        resp = site_step(site_out, request, out)
    except CohortstatError as exc:
        _fail(exc)
    typer.echo(f"site {resp['site']}: answered {resp['model']} / {resp['outcome']} -> {out}")


def pool_cmd(
    packages: list[Path] = typer.Argument(..., help="Site packages (OUT/site_package or OUT), one per site."),
    out: Path = typer.Option(..., "--out", help="Pooled report folder to create."),
    drop_site: list[str] = typer.Option([], "--drop-site", help="Leave this site out (repeatable)."),
    exchange: Path = typer.Option(None, "--exchange", help="Folder for file-exchange rounds with remote sites."),
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds to wait for a site's answer (file exchange)."),
    no_federated: bool = typer.Option(False, "--no-federated", help="Meta-analysis only, no federated rounds."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
) -> None:
    """Pool site packages: per-site, meta-analysed and exact federated site-stratified estimates."""
    from cohortstat.sites.output import write_pool
    from cohortstat.sites.pool import pool

    try:
        result = pool(packages, drop_sites=drop_site, exchange=exchange, timeout=timeout,
                      federated=not no_federated)
        path = write_pool(result, out, force=force)
    except CohortstatError as exc:
        _fail(exc)
    dropped = f" (left out: {', '.join(result.dropped)})" if result.dropped else ""
    typer.echo(f"pooled {len(result.sites)} sites{dropped} -> {path}")


def register(app: typer.Typer) -> None:
    """Add the multi-site commands to the ``cohortstat`` application."""
    app.command("inspect-package")(inspect_package_cmd)
    app.command("site-step")(site_step_cmd)
    app.command("pool")(pool_cmd)


def synth_network(sites: int, patients: int, seed: int, out: Path) -> None:
    """``cohortstat synth --sites K``: one data folder per site (see :mod:`cohortstat.sites.synth`)."""
    from cohortstat.sites.synth import generate_network

    try:
        plan = generate_network(sites, patients, seed, out)
    except CohortstatError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(f"cannot write to {out}: {exc.strerror}")
    for p in plan:
        typer.echo(f"wrote {Path(out) / p['name']}: {p['kept']['rows_patients']} patients "
                   f"(case mix: age slope {p['age_slope']}, female {p['female']})")
    typer.echo(f"network description in {Path(out) / 'network.json'}")
