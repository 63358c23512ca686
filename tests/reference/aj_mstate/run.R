# Reference for cohortstat aalen_johansen(variance="survfit", entry=...): survival::survfit with a factor
# status (multi-state Aalen-Johansen, infinitesimal-jackknife standard errors, conf.type log / log-log /
# plain) on survival::mgus2 (1 = progression to PCM, 2 = death before it) by sex, and on simulated
# left-truncated competing-risks data with heavy ties. Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
d <- mgus2
d$etime <- ifelse(d$pstat == 0, d$futime, d$ptime)
d$event <- ifelse(d$pstat == 0, 2 * d$death, 1)
d <- d[, c("id", "etime", "event", "sex")]
d$sex <- as.character(d$sex)
write.csv(d, "input_mgus2.csv", row.names = FALSE)
set.seed(31)
n <- 600
e <- data.frame(id = 1:n, entry = sample(0:8, n, TRUE), grp = sample(c("a", "b"), n, TRUE))
e$time <- e$entry + ceiling(rexp(n, 0.08))
e$event <- sample(0:2, n, TRUE, c(0.3, 0.4, 0.3))
write.csv(e, "input_entry.csv", row.names = FALSE)
curve <- function(f) {
  st <- if (is.null(f$strata)) rep("", length(f$time)) else rep(names(f$strata), f$strata)
  list(time = f$time, n_risk = f$n.risk[, 1], strata = sub("^[^=]*=", "", st),
       F1 = f$pstate[, 2], F2 = f$pstate[, 3], se1 = f$std.err[, 2], se2 = f$std.err[, 3],
       lower1 = f$lower[, 2], upper1 = f$upper[, 2],
       lower2 = f$lower[, 3], upper2 = f$upper[, 3])
}
out <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            tolerance = list(estimate = 1e-10, se = 1e-8, ci = 1e-8))
for (ct in c("log", "log-log", "plain")) {
  out[[paste0("mgus2_", ct)]] <- c(
    r_call = sprintf("survfit(Surv(etime, factor(event, 0:2)) ~ sex, data = mgus2, id = id, conf.type = '%s')", ct),
    curve(survfit(Surv(etime, factor(event, 0:2)) ~ sex, data = d, id = id, conf.type = ct)))
  out[[paste0("entry_", ct)]] <- c(
    r_call = sprintf("survfit(Surv(entry, time, factor(event, 0:2)) ~ grp, data = sim, id = id, conf.type = '%s', conf.int = 0.9)", ct),
    curve(survfit(Surv(entry, time, factor(event, 0:2)) ~ grp, data = e, id = id, conf.type = ct, conf.int = 0.9)))
}
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
