# Reference for cohortstat kaplan_meier: confidence intervals (conf.type log, log-log, plain) on
# survival::lung by sex, and Kaplan-Meier with delayed entry, survfit(Surv(entry, time, event) ~ 1), on
# simulated left-truncated data with heavy ties (integer times, entries tied with exits).
# Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
l <- lung[, c("time", "status", "sex")]
l$event <- l$status - 1
write.csv(l, "input_lung.csv", row.names = FALSE)
set.seed(21)
n <- 500
e <- data.frame(entry = sample(0:6, n, TRUE), grp = sample(c("a", "b"), n, TRUE))
e$time <- e$entry + ceiling(rexp(n, ifelse(e$grp == "a", 0.1, 0.15)))
e$event <- rbinom(n, 1, 0.75)
write.csv(e, "input_entry.csv", row.names = FALSE)
curve <- function(f) {
  s <- summary(f, censored = TRUE)
  list(time = s$time, n_risk = s$n.risk, n_event = s$n.event, surv = s$surv, std_err = s$std.err,
       lower = s$lower, upper = s$upper, strata = if (is.null(s$strata)) NULL else as.character(s$strata))
}
out <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            tolerance = list(estimate = 1e-10, se = 1e-8, ci = 1e-8))
for (ct in c("log", "log-log", "plain")) {
  out[[paste0("lung_", ct)]] <- c(
    r_call = sprintf("summary(survfit(Surv(time, status) ~ sex, data = lung, conf.type = '%s'), censored = TRUE)", ct),
    curve(survfit(Surv(time, status) ~ sex, data = l, conf.type = ct)))
  out[[paste0("entry_", ct)]] <- c(
    r_call = sprintf("summary(survfit(Surv(entry, time, event) ~ grp, data = sim, conf.type = '%s', conf.int = 0.9), censored = TRUE)", ct),
    curve(survfit(Surv(entry, time, event) ~ grp, data = e, conf.type = ct, conf.int = 0.9)))
}
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
