# Reference for cohortstat FineGray(time_varying=...) = cmprsk::crr(cov2 =, tf =) on survival::mgus2
# (complete cases; progression (1) vs death (2)). Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(cmprsk); library(survival); library(jsonlite)})
d <- mgus2[!is.na(mgus2$mspike), ]
d$etime <- ifelse(d$pstat == 0, d$futime, d$ptime)
d$event <- ifelse(d$pstat == 0, 2 * d$death, 1)
d <- d[, c("id", "etime", "event", "age", "sex", "mspike")]
d$sex <- as.character(d$sex)
d$cg <- ifelse(d$id %% 2 == 0, "a", "b")
write.csv(d, "input.csv", row.names = FALSE)
X1 <- model.matrix(~ age + sex, d)[, -1]
case <- function(name, cause, cov2, tf, tf_names, python, cengroup = NULL) {
  f <- if (is.null(cengroup)) crr(d$etime, d$event, X1, cov2 = cov2, tf = tf, failcode = cause)
       else crr(d$etime, d$event, X1, cov2 = cov2, tf = tf, failcode = cause, cengroup = d[[cengroup]])
  list(name = name, cause = cause, python = python, coef = unname(f$coef), var = unname(f$var),
       loglik = f$loglik, loglik_null = f$loglik.null, converged = f$converged)
}
out <- list(r_version = R.version.string, cmprsk_version = as.character(packageVersion("cmprsk")),
            tolerance = list(estimate = 1e-6, variance = 1e-5),
            cases = list(
              case("mspike_log", 1, cbind(d$mspike), function(t) cbind(log(t)), "log",
                   list(covariates = c("age", "sex"), time_varying = list(mspike = "log"))),
              case("age_identity_mspike_log_cause2", 2, cbind(d$age, d$mspike), function(t) cbind(t, log(t)),
                   c("identity", "log"), list(covariates = c("age", "sex"), time_varying = list(age = "identity", mspike = "log"))),
              case("cengroup", 1, cbind(d$mspike), function(t) cbind(log(t)), "log",
                   list(covariates = c("age", "sex"), time_varying = list(mspike = "log"), cengroup = "cg"), cengroup = "cg")))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
