# Reference for cohortstat aalen_johansen(weights=...): survival::survfit with a factor status and case
# weights (multi-state Aalen-Johansen, infinitesimal-jackknife standard errors, log confidence limits)
# on simulated competing-risks data with heavy ties and propensity-like weights, by group.
# Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
set.seed(16)
n <- 400
d <- data.frame(id = 1:n, grp = sample(c("a", "b"), n, TRUE))
d$time <- ceiling(rexp(n, 0.15))
d$event <- sample(0:2, n, TRUE, c(0.4, 0.3, 0.3))
d$w <- round(runif(n, 0.3, 3), 3)
write.csv(d, "input.csv", row.names = FALSE)
f <- survfit(Surv(time, factor(event, 0:2)) ~ grp, data = d, id = id, weights = w)
st <- rep(names(f$strata), f$strata)
fu <- survfit(Surv(time, factor(event, 0:2)) ~ grp, data = d, id = id)
stu <- rep(names(fu$strata), fu$strata)
out <- list(
  r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
  tolerance = list(estimate = 1e-10, se = 1e-8, ci = 1e-8),
  weighted = list(r_call = "survfit(Surv(time, factor(event, 0:2)) ~ grp, data = input, id = id, weights = w)",
                  time = f$time, strata = sub("^[^=]*=", "", st), n_risk = f$n.risk[, 1],
                  F1 = f$pstate[, 2], F2 = f$pstate[, 3], se1 = f$std.err[, 2], se2 = f$std.err[, 3],
                  lower1 = f$lower[, 2], upper1 = f$upper[, 2], lower2 = f$lower[, 3], upper2 = f$upper[, 3]),
  unweighted = list(r_call = "survfit(Surv(time, factor(event, 0:2)) ~ grp, data = input, id = id)",
                    time = fu$time, strata = sub("^[^=]*=", "", stu),
                    F1 = fu$pstate[, 2], se1 = fu$std.err[, 2], lower1 = fu$lower[, 2], upper1 = fu$upper[, 2]))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
