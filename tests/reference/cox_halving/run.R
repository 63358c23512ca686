# Step halving: a heavy-tailed covariate (t, 1.5 df) for which the first full Newton step lowers
# the log-likelihood, so coxph halves it. input.csv was made once in Python:
#   rng = numpy.random.default_rng(13); n = 40; x = rng.standard_t(1.5, n);
#   t = rng.exponential(1 / exp(clip(1.2 x, -30, 30))); status = rng.random(n) < 0.7; time = round(t, 2)
# This script only reads it.
args <- commandArgs(FALSE); source(file.path(dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)]))), "..", "cox_helpers.R"))
d <- read.csv(file.path(here, "input.csv"))
py <- function(ties) list(duration = "time", event = "status", covariates = I("x"), ties = ties, robust = FALSE)
f1 <- coxph(Surv(time, status) ~ x, data = d, ties = "efron")
f2 <- coxph(Surv(time, status) ~ x, data = d, ties = "breslow")
write_expected(list(fit_record("efron", f1, I("x"), py("efron"), c("km")),
                    fit_record("breslow", f2, I("x"), py("breslow"))),
               "simulated heavy-tailed covariate (see comment)")
