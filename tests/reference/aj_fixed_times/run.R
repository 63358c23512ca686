# Reference for cohortstat's cumulative incidence at fixed times (analysis/curves.py): the Aalen-Johansen
# estimate and its 95% limits at t = 365.25 * k days, k = 1, 5, 10, read from the full-resolution step
# function (right-continuous: events at t count). Simulated competing-risks data by group, times in days
# on a grid that holds the fixed times themselves (ties of events, deaths and censorings exactly at t),
# once unweighted and once with case weights.
# - estimate: survival::survfit multi-state fit, summary(fit, times = t)$pstate;
# - unweighted limits: the curves' variance is Gray's (cmprsk::cuminc): cmprsk::timepoints(..., t)$var,
#   limits exp(log F -/+ 1.96 sd / F) (survfit's log interval on that variance); survfit's own limits too;
# - weighted limits: summary(survfit(..., weights = w, id = id), times = t)$lower/$upper (infinitesimal
#   jackknife).
# Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})
set.seed(2026)
n <- 600
fixed <- 365.25 * c(1, 5, 10)
d <- data.frame(id = 1:n, grp = sample(c("a", "b"), n, TRUE))
d$time <- pmin(ceiling(rexp(n, 1 / 2500)), 4400)
at_t <- sample(n, 60)  # exits exactly at a fixed time: events, deaths and censorings tied at t
d$time[at_t] <- sample(fixed, 60, TRUE)
d$event <- sample(0:2, n, TRUE, c(0.5, 0.25, 0.25))
d$event[d$time == 4400] <- 0
d$w <- round(runif(n, 0.2, 4), 3)
write.csv(d, "input.csv", row.names = FALSE)

by_group <- function(fit, s) {
  st <- sub("^[^=]*=", "", as.character(s$strata))
  list(strata = st, time = s$time, F1 = s$pstate[, 2], F2 = s$pstate[, 3],
       lower1 = s$lower[, 2], upper1 = s$upper[, 2], lower2 = s$lower[, 3], upper2 = s$upper[, 3])
}
fu <- survfit(Surv(time, factor(event, 0:2)) ~ grp, data = d, id = id)
fw <- survfit(Surv(time, factor(event, 0:2)) ~ grp, data = d, id = id, weights = w)
ci <- cuminc(d$time, d$event, d$grp, cencode = 0)
tp <- timepoints(ci, fixed)
gray <- list()
for (g in c("a", "b")) for (cause in 1:2) {
  key <- paste(g, cause)
  est <- tp$est[key, ]; sd <- sqrt(tp$var[key, ])
  gray[[paste0(g, "_", cause)]] <- list(group = g, cause = cause, time = fixed, estimate = unname(est),
                                        se = unname(sd), lower = unname(exp(log(est) - qnorm(0.975) * sd / est)),
                                        upper = unname(pmin(1, exp(log(est) + qnorm(0.975) * sd / est))))
}
out <- list(
  r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
  cmprsk_version = as.character(packageVersion("cmprsk")),
  tolerance = list(estimate = 1e-10, ci = 1e-8),
  fixed_times = fixed,
  unweighted = c(list(r_call = "summary(survfit(Surv(time, factor(event, 0:2)) ~ grp, data = input, id = id), times = 365.25 * c(1, 5, 10))"),
                 by_group(fu, summary(fu, times = fixed))),
  weighted = c(list(r_call = "summary(survfit(Surv(time, factor(event, 0:2)) ~ grp, data = input, id = id, weights = w), times = 365.25 * c(1, 5, 10))"),
               by_group(fw, summary(fw, times = fixed))),
  gray = list(r_call = "timepoints(cuminc(time, event, grp, cencode = 0), 365.25 * c(1, 5, 10))",
              rows = unname(gray)))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
