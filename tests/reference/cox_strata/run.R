# Stratified: simulated integer-day data with 3 strata of different baseline hazards.
args <- commandArgs(FALSE); source(file.path(dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)]))), "..", "cox_helpers.R"))
set.seed(7); n <- 1500
s <- sample(c("north", "south", "west"), n, replace = TRUE); x1 <- rnorm(n); x2 <- rbinom(n, 1, 0.5)
base <- c(north = 0.01, south = 0.03, west = 0.05)[s]
t1 <- rexp(n, base * exp(0.4 * x1 + 0.6 * x2)); cens <- runif(n, 5, 80)
d <- data.frame(time = ceiling(pmin(t1, cens)), status = as.integer(t1 <= cens), x1 = round(x1, 4), x2 = x2, region = s)
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
tr <- c("x1", "x2")
py <- function(ties) list(duration = "time", event = "status", covariates = c("x1", "x2"), strata = "region", ties = ties, robust = FALSE)
f1 <- coxph(Surv(time, status) ~ x1 + x2 + strata(region), data = d, ties = "efron")
f2 <- coxph(Surv(time, status) ~ x1 + x2 + strata(region), data = d, ties = "breslow")
write_expected(list(fit_record("efron", f1, tr, py("efron"), c("km", "identity", "rank", "log"), resid = TRUE),
                    fit_record("breslow", f2, tr, py("breslow"), c("km"), resid = TRUE)),
               "simulated, seed 7, n 1500, 3 strata")
