# Reference for cohortstat concordance: survival::concordance (Harrell's C, pair counts and the
# infinitesimal-jackknife standard error) on survival::lung, with a numeric score (larger = longer
# survival), reverse = TRUE (a risk score), strata, and the linear predictor of a Cox model; and on
# simulated data with heavy ties in time and score (also with case weights and clusters, and with delayed entry). Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
l <- lung[, c("time", "status", "age", "sex", "ph.karno", "ph.ecog")]
l$event <- l$status - 1
cfit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = l)
l$lp <- NA
l$lp[-cfit$na.action] <- cfit$linear.predictors
write.csv(l, "input_lung.csv", row.names = FALSE, na = "")
set.seed(41)
n <- 500
s <- data.frame(time = ceiling(rexp(n, 0.1)), event = rbinom(n, 1, 0.6), score = sample(1:6, n, TRUE),
                st = sample(c("u", "v"), n, TRUE))
s$w <- ifelse(s$st == "v", 2.5, 1)
s$cl <- ceiling(seq_len(n) / 3)
s$entry <- floor(runif(n) * s$time)  # delayed entry, strictly before the exit time
write.csv(s, "input_sim.csv", row.names = FALSE)
one <- function(call, f) list(r_call = call, concordance = unname(f$concordance), count = as.list(if (is.matrix(f$count)) colSums(f$count) else f$count),
                              n = f$n, var = f$var, std_err = sqrt(f$var))
cs <- concordance(Surv(time, status) ~ age + strata(sex), data = l)
out <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            tolerance = list(concordance = 1e-12, var = 1e-8),
  age = one("concordance(Surv(time, status) ~ age, data = lung)",
            concordance(Surv(time, status) ~ age, data = l)),
  karno = one("concordance(Surv(time, status) ~ ph.karno, data = lung)  # 1 NA dropped",
              concordance(Surv(time, status) ~ ph.karno, data = l)),
  age_reverse = one("concordance(Surv(time, status) ~ age, data = lung, reverse = TRUE)",
                    concordance(Surv(time, status) ~ age, data = l, reverse = TRUE)),
  age_strata = one("concordance(Surv(time, status) ~ age + strata(sex), data = lung)", cs),
  cox = one("concordance(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung))",
            concordance(cfit)),
  sim = one("concordance(Surv(time, event) ~ score, data = sim)",
            concordance(Surv(time, event) ~ score, data = s)),
  sim_reverse_strata = one("concordance(Surv(time, event) ~ score + strata(st), data = sim, reverse = TRUE)",
            concordance(Surv(time, event) ~ score + strata(st), data = s, reverse = TRUE)),
  sim_weights_cluster = one("concordance(Surv(time, event) ~ score, data = sim, weights = w, cluster = cl)",
            concordance(Surv(time, event) ~ score, data = s, weights = w, cluster = cl)),
  sim_entry = one("concordance(Surv(entry, time, event) ~ score + strata(st), data = sim, reverse = TRUE)",
            concordance(Surv(entry, time, event) ~ score + strata(st), data = s, reverse = TRUE)))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
