# Case weights on survival::lung complete cases (weights uniform on (0.2, 3), seed 11).
# R turns robust on by default for non-integer weights; robust = FALSE is explicit here.
args <- commandArgs(FALSE); source(file.path(dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)]))), "..", "cox_helpers.R"))
d <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")]); d$status <- d$status - 1
set.seed(11); d$w <- round(runif(nrow(d), 0.2, 3), 3)
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
tr <- c("age", "sex", "ph.ecog")
py <- function(ties, robust) list(duration = "time", event = "status", covariates = tr, weights = "w", ties = ties, robust = robust)
f1 <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, weights = w, ties = "efron", robust = FALSE)
f2 <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, weights = w, ties = "breslow", robust = FALSE)
f3 <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, weights = w, ties = "efron", robust = TRUE)
write_expected(list(fit_record("efron", f1, tr, py("efron", FALSE), c("km", "rank"), resid = TRUE),
                    fit_record("breslow", f2, tr, py("breslow", FALSE), c("km")),
                    fit_record("efron_robust", f3, tr, py("efron", TRUE))),
               "survival::lung complete cases, simulated weights")
