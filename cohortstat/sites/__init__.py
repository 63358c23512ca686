"""Multi-site studies: one frozen study run at several hospitals, pooled from aggregates only.

- :mod:`cohortstat.sites.package` - the site package written by ``run(..., site=NAME)``;
- :mod:`cohortstat.sites.inspect` - every value of a package, for review before it leaves a site;
- :mod:`cohortstat.sites.federated` - per-site aggregates and the coordinator's Newton iterations of the
  exact site-stratified Cox and Fine-Gray fits;
- :mod:`cohortstat.sites.node`, :mod:`cohortstat.sites.exchange` - answering and sending rounds, in
  process or by file exchange;
- :mod:`cohortstat.sites.pool`, :mod:`cohortstat.sites.pooled_tables`, :mod:`cohortstat.sites.output` -
  checks, meta-analysis (:mod:`cohortstat.models.meta`), pooled tables and the pooled report;
- :mod:`cohortstat.sites.synth` - a simulated network of sites.

User documentation: docs/multi-site.md.
"""
