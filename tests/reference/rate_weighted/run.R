# Reference for cohortstat weighted_incidence_rate / weighted_group_rates: the weighted incidence rate
# sum(w d) / sum(w t) and its robust 95% interval, from the intercept-only Poisson GLM with log link,
# offset log(person-years) and prior weights, per group, on a small fixed dataset (tied times, tied
# weights, a zero weight, and a group without events).
# Variance: HC0 sandwich, computed by hand from the fitted glm (bread = sum of working weights,
# meat = sum of squared score contributions) and checked against sandwich::vcovHC(type = "HC0").
# Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(jsonlite); library(sandwich)})
d <- data.frame(
  group = c(rep("a", 12), rep("b", 10), rep("z", 8)),
  time = c(365, 365, 730, 120, 120, 1000, 45, 2000, 365, 800, 1500, 60,       # days; ties within a
           30, 30, 30, 400, 900, 1461, 200, 200, 2500, 10,
           100, 365, 365, 700, 1200, 50, 3000, 800),
  event = c(1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1,
            1, 1, 0, 0, 1, 0, 0, 1, 0, 1,
            0, 0, 0, 0, 0, 0, 0, 0),
  w = c(1.25, 1.25, 0.8, 2.5, 2.5, 1.1, 0.4, 3.2, 1.25, 0, 0.9, 1.7,
        0.3, 0.3, 0.55, 1.8, 2.2, 0.75, 4.1, 0.3, 1.05, 0.65,
        1.2, 0.7, 0.7, 2.4, 1.1, 0.9, 0.5, 1.6))
write.csv(d, "input.csv", row.names = FALSE)
d$py <- d$time / 365.25
z <- qnorm(0.975)
one <- function(s) {
  fit <- suppressWarnings(glm(event ~ 1 + offset(log(py)), family = poisson, data = s, weights = w))
  mu <- fitted(fit)
  bread <- sum(s$w * mu)                       # X' W X with working weights w * mu
  meat <- sum((s$w * (s$event - mu))^2)        # sum of squared score contributions
  v_hand <- meat / bread^2
  # sandwich counts zero-weight rows in the meat's n but not in the bread's (nobs): refit without them
  # (they add nothing to the estimating equation) so that vcovHC is the HC0 sandwich of the hand formula
  pos <- suppressWarnings(glm(event ~ 1 + offset(log(py)), family = poisson, data = s[s$w > 0, ], weights = w))
  v_pkg <- vcovHC(pos, type = "HC0")[1, 1]
  b <- unname(coef(fit))
  events <- sum(s$w * s$event)
  list(group = s$group[1], n = nrow(s), weighted_events = events, weighted_person_years = sum(s$w * s$py),
       glm_rate = exp(b) * 1000, glm_converged = fit$converged,
       rate = if (events > 0) exp(b) * 1000 else 0,
       se_log_rate = if (events > 0) sqrt(v_hand) else NA,
       se_log_rate_vcovHC = if (events > 0) sqrt(v_pkg) else NA,
       rate_lower = if (events > 0) exp(b - z * sqrt(v_hand)) * 1000 else NA,
       rate_upper = if (events > 0) exp(b + z * sqrt(v_hand)) * 1000 else NA)
}
res <- lapply(split(d, d$group), one)
out <- list(
  r_version = R.version.string, sandwich_version = as.character(packageVersion("sandwich")),
  r_call = paste("glm(event ~ 1 + offset(log(time / 365.25)), family = poisson, weights = w, subset = group)",
                 "; Var(log rate) = sandwich::vcovHC(fit, type = 'HC0') (and by hand); limits exp(coef -/+",
                 "qnorm(0.975) se) * 1000; a group without events: rate 0, limits NA (glm's coefficient diverges)"),
  tolerance = list(rate = 1e-8, ci = 1e-8),
  per = 1000,
  groups = unname(res))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
