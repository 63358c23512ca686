# Reference for cohortstat aalen_johansen / gray_test / kaplan_meier: cmprsk::cuminc and survfit on
# survival::mgus2 (1 = progression to PCM, 2 = death before it), groups = sex, strata = age band,
# and on simulated data with 3 groups and heavy ties. Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(cmprsk); library(survival); library(jsonlite)})
d <- mgus2
d$etime <- ifelse(d$pstat == 0, d$futime, d$ptime)
d$event <- ifelse(d$pstat == 0, 2 * d$death, 1)
d$ageband <- ifelse(d$age < 70, "lt70", "ge70")
d <- d[, c("id", "etime", "event", "sex", "ageband")]
d$sex <- as.character(d$sex)
set.seed(7)
s <- data.frame(time = ceiling(rexp(600, 0.1)), event = sample(0:2, 600, TRUE, c(0.4, 0.35, 0.25)),
                grp = sample(c("a", "b", "c"), 600, TRUE), st = sample(1:2, 600, TRUE))
write.csv(d, "input.csv", row.names = FALSE)
write.csv(s, "input_sim.csv", row.names = FALSE)
corners <- function(z) {  # cuminc's step corners: the jump points are the even entries after x(1) = 0
  k <- seq(3, length(z$time) - 1, by = 2)
  list(time = z$time[k], est = z$est[k], var = z$var[k])
}
ci <- cuminc(d$etime, d$event, d$sex)
ci_st <- cuminc(d$etime, d$event, d$sex, strata = d$ageband)
ci_s <- cuminc(s$time, s$event, s$grp)
ci_s_st <- cuminc(s$time, s$event, s$grp, strata = s$st, rho = 1)
km <- survfit(Surv(etime, event > 0) ~ sex, data = d)
kms <- summary(km, censored = TRUE)
kmw <- survfit(Surv(time, event > 0) ~ 1, data = s, weights = 1 + st / 4, robust = FALSE)
tests <- function(z) list(stat = unname(z$Tests[, "stat"]), p = unname(z$Tests[, "pv"]),
                          df = unname(z$Tests[, "df"]))
out <- list(
  r_call = c("cuminc(etime, event, sex[, strata = ageband])", "cuminc(time, event, grp[, strata = st, rho = 1])",
             "survfit(Surv(etime, event > 0) ~ sex); summary(km, censored = TRUE)",
             "survfit(Surv(time, event > 0) ~ 1, weights = 1 + st / 4, robust = FALSE)"),
  r_version = R.version.string, cmprsk_version = as.character(packageVersion("cmprsk")),
  survival_version = as.character(packageVersion("survival")),
  tolerance = list(estimate = 1e-6, variance = 1e-5),
  cuminc = lapply(ci[c("F 1", "M 1", "F 2", "M 2")], corners),
  cuminc_sim = lapply(ci_s[c("a 1", "b 1", "c 1", "a 2")], corners),
  tests = tests(ci), tests_strata = tests(ci_st), tests_sim = tests(ci_s), tests_sim_strata_rho1 = tests(ci_s_st),
  km = list(time = kms$time, n_risk = kms$n.risk, n_event = kms$n.event, surv = kms$surv,
            std_err = kms$std.err, strata = as.character(kms$strata)),
  km_weighted = list(time = kmw$time, n_risk = kmw$n.risk, surv = kmw$surv, std_err_log = kmw$std.err))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
