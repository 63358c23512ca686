# Reference for cohortstat.models.diagnostics: the MDRR formula of OHDSI CohortMethod
# (computeMdrrFromAggregateStats, modelType = "cox", written out here in base R), the preference score
# and equipoise (computePreferenceScore / computeEquipoise, written out), and follow-up quantiles
# (stats::quantile, type 7). Run: Rscript run.R
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(FALSE)
here <- normalizePath(dirname(sub("^--file=", "", args[grep("^--file=", args)])))
mdrr <- function(D, p, alpha = 0.05, power = 0.8, two = TRUE) {
  za <- if (two) qnorm(1 - alpha / 2) else qnorm(1 - alpha)
  exp(sqrt((za - qnorm(1 - power))^2 / (D * p * (1 - p))))
}
cases <- list(c(100, 0.5, 0.05, 0.8, 1), c(37, 0.2, 0.05, 0.9, 1), c(1200, 0.35, 0.01, 0.8, 0), c(5, 0.6, 0.1, 0.5, 1))
set.seed(6); n <- 500
ps <- round(plogis(rnorm(n, -0.5, 1.2)), 6); tr <- rbinom(n, 1, ps); tar <- round(rexp(n, 1 / 900))
P <- mean(tr); x <- exp(log(ps / (1 - ps)) - log(P / (1 - P))); pref <- x / (x + 1)
write.csv(data.frame(ps = ps, treatment = tr, time = tar), file.path(here, "input.csv"), row.names = FALSE)
out <- list(generated_by = "run.R", R_version = R.version.string, tolerance = 1e-12,
  mdrr = lapply(cases, function(v) list(events = v[1], exposed_share = v[2], alpha = v[3], power = v[4],
                                        two_sided = as.logical(v[5]), mdrr = mdrr(v[1], v[2], v[3], v[4], as.logical(v[5])))),
  preference_first10 = pref[1:10], equipoise = mean(pref >= 0.3 & pref <= 0.7),
  follow_up = list(treated = unname(quantile(tar[tr == 1], c(0, .25, .5, .75, 1))),
                   comparator = unname(quantile(tar[tr == 0], c(0, .25, .5, .75, 1)))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "expected.json"))
