# survfit.coxph predictions (survival::lung complete cases; status recoded 0/1; sex a factor M/F):
# survival curves for covariate profiles with standard errors, Efron and Breslow hazard types,
# unstratified, stratified, weighted and with an offset. Run: Rscript run.R
suppressMessages({library(survival); library(jsonlite)})
args <- commandArgs(FALSE)
here <- normalizePath(dirname(sub("^--file=", "", args[grep("^--file=", args)])))
d <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog", "ph.karno")]); d$status <- d$status - 1
d$sex <- factor(ifelse(d$sex == 1, "M", "F"), levels = c("M", "F"))
d$lk <- log(d$ph.karno / 100)
d$w <- 1 + (seq_len(nrow(d)) %% 3) / 2
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
prof <- data.frame(age = c(50, 70), sex = factor(c("M", "F"), levels = c("M", "F")), ph.ecog = c(0, 2), lk = c(0, -0.2))
one <- function(name, fit, python, newdata, ctype) {
  sf <- survfit(fit, newdata = newdata, ctype = ctype)
  m <- function(x) unname(as.matrix(x))
  list(name = name, call = paste(deparse(fit$call, width.cutoff = 500), collapse = " "), python = python,
       ctype = ctype, time = sf$time, strata = if (is.null(sf$strata)) NULL else unname(sf$strata),
       n_event = sf$n.event, surv = m(sf$surv), std_err = m(sf$std.err), cumhaz = m(sf$cumhaz),
       lower = m(sf$lower), upper = m(sf$upper))
}
py <- function(ties, ...) c(list(ties = ties, covariates = c("age", "sex", "ph.ecog")), list(...))
fe <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, ties = "efron")
fb <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, ties = "breslow")
fw <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, weights = w, robust = TRUE)
fo <- coxph(Surv(time, status) ~ age + sex + ph.ecog + offset(lk), data = d)
fs <- coxph(Surv(time, status) ~ age + ph.ecog + strata(sex), data = d)
cases <- list(one("efron", fe, py("efron"), prof, 2), one("efron_breslow_type", fe, py("efron"), prof, 1),
              one("breslow", fb, py("breslow"), prof, 1), one("breslow_efron_type", fb, py("breslow"), prof, 2),
              one("weights", fw, py("efron", weights = "w", robust = TRUE), prof, 2),
              one("offset", fo, py("efron", offset = "lk"), prof, 2),
              one("strata_M", fs, list(ties = "efron", covariates = c("age", "ph.ecog"), strata = "sex"), prof[1, ], 2),
              one("strata_F", fs, list(ties = "efron", covariates = c("age", "ph.ecog"), strata = "sex"), prof[2, ], 2))
out <- list(generated_by = "run.R", R_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            tolerance = list(surv = 1e-7, std_err = 1e-6), input = "input.csv",
            profiles = list(age = prof$age, sex = as.character(prof$sex), ph.ecog = prof$ph.ecog, lk = prof$lk),
            cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null"), file.path(here, "expected.json"))
