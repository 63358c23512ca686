# Reference for cohortstat.models.splines (R splines::ns) and a Cox model with a natural-spline term:
# coxph(Surv(t, e) ~ x + ns(age, df = 4)), plus a logistic propensity model glm(x ~ ns(age, df = 3)).
# The data are generated here (set.seed) and written into expected.json with the values.
# Run from anywhere: Rscript run.R (writes expected.json next to this script).
suppressPackageStartupMessages({library(survival); library(splines); library(jsonlite)})
args <- commandArgs(FALSE)
here <- normalizePath(dirname(sub("^--file=", "", args[grep("^--file=", args)])))
set.seed(2024); n <- 400
age <- round(runif(n, 18, 95), 1)
x <- rbinom(n, 1, plogis(-3 + 0.05 * age))
lp <- 0.5 * x + 0.0008 * (age - 60)^2            # a U-shaped age effect
t <- round(rexp(n, 0.05 * exp(lp)), 2); cens <- round(runif(n, 1, 25), 2)
e <- as.integer(t <= cens); t <- pmin(t, cens)
d <- data.frame(t = t, e = e, x = x, age = age)
fit <- coxph(Surv(t, e) ~ x + ns(age, df = 4), data = d)
b4 <- ns(d$age, df = 4)
ps <- glm(x ~ ns(age, df = 3), family = binomial, data = d)
b3 <- ns(d$age, df = 3)
newage <- c(10, 18.5, 60, 95, 99)
out <- list(generated_by = "run.R", R_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  tolerance = list(basis = 1e-10, coef = 1e-6, se = 1e-6, loglik = 1e-8),
  call = paste(deparse(fit$call, width.cutoff = 500), collapse = " "),
  call_ps = paste(deparse(ps$call, width.cutoff = 500), collapse = " "),
  data = d,
  knots = unname(attr(b4, "knots")), boundary_knots = unname(attr(b4, "Boundary.knots")),
  basis_first_rows = unname(unclass(b4)[1:10, ]),
  predict_at = newage, predict_basis = unname(predict(b4, newage)[, ]),
  coef = unname(coef(fit)), coef_names = names(coef(fit)), se = unname(sqrt(diag(vcov(fit)))),
  loglik = unname(fit$loglik),
  ps_knots = unname(attr(b3, "knots")), ps_coef = unname(coef(ps)), ps_coef_names = names(coef(ps)),
  ps_se = unname(sqrt(diag(vcov(ps)))), ps_loglik = as.numeric(logLik(ps)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE, dataframe = "columns"), file.path(here, "expected.json"))
