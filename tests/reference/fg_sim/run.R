# Reference for cohortstat FineGray(variance="crr"): cmprsk::crr on simulated competing-risk data,
# continuous times (no ties) and integer times (heavy ties), with and without censoring groups.
# Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(cmprsk); library(survival); library(jsonlite)})
set.seed(20261122)
n <- 400
x1 <- rnorm(n); x2 <- rbinom(n, 1, 0.4); x3 <- runif(n, 40, 90)
lp1 <- 0.5 * x1 - 0.4 * x2 + 0.02 * (x3 - 65)
t1 <- rexp(n, 0.10 * exp(lp1)); t2 <- rexp(n, 0.15 * exp(-0.3 * x1 + 0.3 * x2)); cc <- runif(n, 0, 12)
time <- pmin(t1, t2, cc)
status <- ifelse(cc <= pmin(t1, t2), 0, ifelse(t1 < t2, 1, 2))
cg <- ifelse(x2 == 1, "b", "a")
d <- data.frame(time = round(time, 6), status = status, x1 = x1, x2 = x2, x3 = x3, cg = cg)
d$time_int <- ceiling(d$time)
write.csv(d, "input.csv", row.names = FALSE)
fit <- function(tcol, cause, cengroup = NULL) {
  cov <- as.matrix(d[, c("x1", "x2", "x3")])
  f <- if (is.null(cengroup)) crr(d[[tcol]], d$status, cov, failcode = cause)
       else crr(d[[tcol]], d$status, cov, failcode = cause, cengroup = d[[cengroup]])
  pr <- predict(f, cov1 = rbind(c(0, 0, 65), c(1, 1, 70)))
  list(time = tcol, cause = cause, cengroup = if (is.null(cengroup)) NULL else cengroup,
       coef = unname(f$coef), var = unname(f$var), loglik = f$loglik, loglik_null = f$loglik.null,
       converged = f$converged, uftime = f$uftime, bfitj = f$bfitj,
       predict_time = pr[, 1], predict_cif = unname(pr[, -1]))
}
cases <- list(fit("time", 1), fit("time", 2), fit("time_int", 1), fit("time_int", 2),
              fit("time", 1, "cg"), fit("time_int", 1, "cg"))
out <- list(r_call = "crr(time, status, cbind(x1, x2, x3), failcode = cause[, cengroup = cg]); predict(fit, cov1 = rbind(c(0,0,65), c(1,1,70)))",
            r_version = R.version.string, cmprsk_version = as.character(packageVersion("cmprsk")),
            survival_version = as.character(packageVersion("survival")),
            tolerance = list(estimate = 1e-6, variance = 1e-5), cases = cases)
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
