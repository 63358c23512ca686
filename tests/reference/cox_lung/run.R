# survival::lung, complete cases of (time, status, age, sex, ph.ecog); status recoded 0/1.
args <- commandArgs(FALSE); source(file.path(dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)]))), "..", "cox_helpers.R"))
d <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")]); d$status <- d$status - 1
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
py <- function(ties, robust = FALSE) list(duration = "time", event = "status", covariates = c("age", "sex", "ph.ecog"), ties = ties, robust = robust)
tr <- c("age", "sex", "ph.ecog"); tf <- c("km", "identity", "rank", "log")
f1 <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, ties = "efron")
f2 <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, ties = "breslow")
f3 <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, ties = "efron", robust = TRUE)
write_expected(list(fit_record("efron", f1, tr, py("efron"), tf, resid = TRUE, basehaz = TRUE),
                    fit_record("breslow", f2, tr, py("breslow"), tf, resid = TRUE, basehaz = TRUE),
                    fit_record("efron_robust", f3, tr, py("efron", TRUE))),
               "survival::lung complete cases")
