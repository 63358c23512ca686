# Reference for cohortstat logrank_test: survival::survdiff (G-rho family, strata) on survival::lung and
# survival::veteran, on simulated data with heavy ties, and the coxph score test on untied
# left-truncated data (log-rank with delayed entry). Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
l <- lung[, c("time", "status", "sex", "ph.ecog", "inst")]
l$event <- l$status - 1
write.csv(l, "input_lung.csv", row.names = FALSE, na = "")
v <- veteran[, c("time", "status", "celltype", "prior", "trt")]
v$celltype <- as.character(v$celltype)
write.csv(v, "input_veteran.csv", row.names = FALSE)
set.seed(11)
n <- 400
s <- data.frame(time = ceiling(rexp(n, 0.08)), event = rbinom(n, 1, 0.7),
                grp = sample(c("x", "y", "z"), n, TRUE), st = sample(c("s1", "s2", "s3"), n, TRUE))
write.csv(s, "input_sim.csv", row.names = FALSE)
n <- 300
e <- data.frame(entry = round(runif(n, 0, 2), 6), grp = sample(c("a", "b", "c"), n, TRUE))
e$stop <- round(e$entry + rexp(n, ifelse(e$grp == "a", 0.3, ifelse(e$grp == "b", 0.4, 0.5))), 6)
e$event <- rbinom(n, 1, 0.8)
stopifnot(!any(duplicated(e$stop)))
write.csv(e, "input_entry.csv", row.names = FALSE)
one <- function(f) {
  o <- f$obs; ex <- f$exp
  if (is.matrix(o)) { o <- rowSums(o); ex <- rowSums(ex) }
  list(n = unname(as.numeric(f$n)), groups = sub("^[^=]*=", "", names(f$n)), observed = unname(o),
       expected = unname(ex), var = unname(f$var), chisq = f$chisq,
       df = sum(ex > 0) - 1, p = pchisq(f$chisq, sum(ex > 0) - 1, lower.tail = FALSE))
}
cx <- coxph(Surv(entry, stop, event) ~ grp, data = e, ties = "breslow")
out <- list(
  r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
  tolerance = list(estimate = 1e-10, chisq = 1e-8),
  lung_sex = c(r_call = "survdiff(Surv(time, status) ~ sex, data = lung)",
               one(survdiff(Surv(time, status) ~ sex, data = l))),
  lung_sex_rho1 = c(r_call = "survdiff(Surv(time, status) ~ sex, data = lung, rho = 1)",
                    one(survdiff(Surv(time, status) ~ sex, data = l, rho = 1))),
  lung_ecog = c(r_call = "survdiff(Surv(time, status) ~ ph.ecog, data = lung)  # one NA row dropped",
                one(survdiff(Surv(time, status) ~ ph.ecog, data = l))),
  veteran_strata = c(r_call = "survdiff(Surv(time, status) ~ celltype + strata(prior), data = veteran, rho = 0.5)",
                     one(survdiff(Surv(time, status) ~ celltype + strata(prior), data = v, rho = 0.5))),
  sim_strata = c(r_call = "survdiff(Surv(time, event) ~ grp + strata(st), data = sim)",
                 one(survdiff(Surv(time, event) ~ grp + strata(st), data = s))),
  sim_rho1 = c(r_call = "survdiff(Surv(time, event) ~ grp, data = sim, rho = 1)",
               one(survdiff(Surv(time, event) ~ grp, data = s, rho = 1))),
  entry_score = list(r_call = "coxph(Surv(entry, stop, event) ~ grp, ties = 'breslow')$score (no tied times)",
                     chisq = unname(cx$score), df = 2))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
