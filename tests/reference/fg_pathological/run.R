# Pathological data for cohortstat FineGray(variance="crr") vs cmprsk::crr: zero times (event and
# censoring at t = 0), every time tied (only 4 distinct times), a single event of the cause.
# Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(cmprsk); library(jsonlite)})
set.seed(11)
n <- 120
d <- data.frame(time = sample(0:3, n, TRUE), event = sample(0:2, n, TRUE, c(0.3, 0.4, 0.3)),
                x = round(rnorm(n), 2), z = rbinom(n, 1, 0.5))
one <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8), event = c(0, 2, 1, 0, 2, 0, 2, 0),
                  x = c(0.5, -1, 1.2, 0.3, -0.2, 0.8, -0.6, 0.1))
write.csv(d, "input.csv", row.names = FALSE)
write.csv(one, "input_one_event.csv", row.names = FALSE)
f <- crr(d$time, d$event, cbind(x = d$x, z = d$z))
f1 <- crr(one$time, one$event, cbind(x = one$x))
out <- list(r_call = c("crr(time, event, cbind(x, z))", "crr(time, event, cbind(x)) on input_one_event.csv"),
            r_version = R.version.string, cmprsk_version = as.character(packageVersion("cmprsk")),
            tolerance = list(estimate = 1e-6, variance = 1e-5),
            ties_zero = list(coef = unname(f$coef), var = unname(f$var), loglik = f$loglik, converged = f$converged),
            one_event = list(coef = unname(f1$coef), var = unname(f1$var), loglik = f1$loglik, converged = f1$converged))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
