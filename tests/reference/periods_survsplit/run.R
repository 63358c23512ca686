# Reference for cohortstat.models.periods: survival::survSplit and period-specific hazard ratios
# (coxph with exposure:strata(tgroup)), likelihood-ratio (anova) and Wald tests of heterogeneity.
# Run from anywhere: Rscript run.R (writes input_*.csv, expected_split*.csv and expected.json here).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(FALSE)
here <- normalizePath(dirname(sub("^--file=", "", args[grep("^--file=", args)])))
# tiny case, with delayed entry, an exit on a cut and an entry on a cut
tiny <- data.frame(id = 1:5, entry = c(0, 1, 2.5, 0, 2), time = c(3, 2, 6, 1, 5), status = c(1, 0, 1, 1, 1),
                   x = c(1, 0, 1, 0, 1))
write.csv(tiny, file.path(here, "input_tiny.csv"), row.names = FALSE)
s1 <- survSplit(Surv(entry, time, status) ~ ., data = tiny, cut = c(5, 1, 2), episode = "episode", start = "entry")
write.csv(s1, file.path(here, "expected_split_entry.csv"), row.names = FALSE)
s0 <- survSplit(Surv(time, status) ~ id + x, data = tiny, cut = c(1, 2, 5), episode = "episode", start = "tstart")
write.csv(s0, file.path(here, "expected_split_noentry.csv"), row.names = FALSE)
# simulated cohort in days: exposure effect HR 2 in (365, 730], 1.5 in (730, 1825], 1 after; delayed entry
set.seed(15); n <- 2000
x <- rbinom(n, 1, 0.4); age <- round(rnorm(n, 60, 10)); sex <- sample(c("F", "M"), n, TRUE)
lam <- 3e-4 * exp(0.02 * (age - 60))
draw <- function(i) { # piecewise-exponential event time with period-varying HR
  b <- c(0, 365, 730, 1825, Inf); h <- lam[i] * c(1, 2, 1.5, 1)^x[i]
  t <- 0; for (k in 1:4) { w <- rexp(1, h[k]); if (t + w <= b[k + 1] - b[k] + t && w <= b[k + 1] - b[k]) return(b[k] + w) }
  Inf }
tt <- sapply(1:n, draw); cens <- round(runif(n, 400, 3650))
d <- data.frame(id = 1:n, entry = ifelse(runif(n) < 0.2, round(runif(n, 0, 300)), 0), x = x, age = age, sex = sex)
d$time <- pmin(ceiling(tt), cens); d$status <- as.integer(ceiling(tt) <= cens)
d <- d[d$time > d$entry, ]
write.csv(d, file.path(here, "input_sim.csv"), row.names = FALSE)
sp <- survSplit(Surv(entry, time, status) ~ ., data = d, cut = c(365, 730, 1825, 3650), episode = "tgroup", start = "entry")
sp <- sp[sp$tgroup %in% 2:4, ]
fit1 <- coxph(Surv(entry, time, status) ~ x:strata(tgroup) + age + strata(sex), data = sp, ties = "efron")
fit0 <- coxph(Surv(entry, time, status) ~ x + age + strata(sex), data = sp, ties = "efron")
a <- anova(fit0, fit1)
b <- coef(fit1)[grep("^x:", names(coef(fit1)))]; V <- vcov(fit1)[names(b), names(b)]
C <- cbind(-1, diag(2)); w <- drop(t(C %*% b) %*% solve(C %*% V %*% t(C)) %*% (C %*% b))
pt <- with(sp, tapply(time - entry, list(tgroup, x), sum)); ev <- with(sp, tapply(status, list(tgroup, x), sum))
out <- list(generated_by = "run.R", R_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  tolerance = list(coef = 1e-6, se = 1e-6, loglik = 1e-8, test = 1e-6),
  split_calls = c('survSplit(Surv(entry, time, status) ~ ., data = tiny, cut = c(5, 1, 2), episode = "episode", start = "entry")',
                  'survSplit(Surv(time, status) ~ id + x, data = tiny, cut = c(1, 2, 5), episode = "episode", start = "tstart")'),
  periods = list(c(365, 730), c(730, 1825), c(1825, 3650)),
  call_by_period = paste(deparse(fit1$call, width.cutoff = 500), collapse = " "),
  call_common = paste(deparse(fit0$call, width.cutoff = 500), collapse = " "),
  subset = "survSplit(Surv(entry, time, status) ~ ., cut = c(365, 730, 1825, 3650), episode = 'tgroup') then tgroup %in% 2:4",
  coef = unname(b), se = unname(sqrt(diag(V))), loglik_by_period = fit1$loglik[2], loglik_common = fit0$loglik[2],
  coef_age = unname(coef(fit1)["age"]), common_coef_x = unname(coef(fit0)["x"]),
  lr_chisq = a$Chisq[2], lr_df = a$Df[2], lr_p = a[["Pr(>|Chi|)"]][2], wald_chisq = w, wald_p = pchisq(w, 2, lower.tail = FALSE),
  events_reference = unname(ev[, "0"]), events_exposed = unname(ev[, "1"]),
  person_time_reference = unname(pt[, "0"]), person_time_exposed = unname(pt[, "1"]),
  n_pieces = nrow(sp))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "expected.json"))
