# survival::lung complete cases of (time, status, age, sex, ph.karno); status recoded 0/1;
# offset lk = log(ph.karno / 100) (a known multiplier of the hazard).
args <- commandArgs(FALSE); source(file.path(dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)]))), "..", "cox_helpers.R"))
d <- na.omit(lung[, c("time", "status", "age", "sex", "ph.karno", "inst")]); d$status <- d$status - 1
d$lk <- log(d$ph.karno / 100)
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
py <- function(ties, ...) c(list(duration = "time", event = "status", covariates = c("age", "sex"), ties = ties,
                               offset = "lk"), list(...))
tr <- c("age", "sex")
f1 <- coxph(Surv(time, status) ~ age + sex + offset(lk), data = d, ties = "efron")
f2 <- coxph(Surv(time, status) ~ age + sex + offset(lk), data = d, ties = "breslow")
f3 <- coxph(Surv(time, status) ~ age + sex + offset(lk) + strata(inst), data = d, robust = TRUE)
write_expected(list(fit_record("efron", f1, tr, py("efron"), "km", resid = TRUE, basehaz = TRUE),
                    fit_record("breslow", f2, tr, py("breslow"), resid = TRUE, basehaz = TRUE),
                    fit_record("strata_robust", f3, tr, py("efron", strata = "inst", robust = TRUE))),
               "survival::lung complete cases with log(ph.karno / 100) as offset")
