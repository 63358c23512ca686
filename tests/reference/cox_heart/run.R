# (start, stop] counting-process data: survival::heart (Stanford heart transplant).
args <- commandArgs(FALSE); source(file.path(dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)]))), "..", "cox_helpers.R"))
d <- heart[, c("id", "start", "stop", "event", "age", "year", "surgery", "transplant")]; d$transplant <- as.integer(as.character(d$transplant))
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
tr <- c("age", "year", "surgery", "transplant")
py <- function(ties, cluster = NULL) list(duration = "stop", event = "event", entry = "start", covariates = tr, cluster = cluster, ties = ties, robust = !is.null(cluster))
f1 <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = d, ties = "efron")
f2 <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = d, ties = "breslow")
f3 <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = d, cluster = id, ties = "efron")
f4 <- coxph(Surv(start, stop, event) ~ age + year + transplant + strata(surgery), data = d, ties = "efron")
py4 <- list(duration = "stop", event = "event", entry = "start", covariates = c("age", "year", "transplant"), strata = "surgery", ties = "efron", robust = FALSE)
write_expected(list(fit_record("efron_strata", f4, c("age", "year", "transplant"), py4, c("km", "rank"), resid = TRUE),
                    fit_record("efron", f1, tr, py("efron"), c("km", "identity", "rank", "log"), resid = TRUE, basehaz = TRUE),
                    fit_record("breslow", f2, tr, py("breslow"), c("km", "rank"), resid = TRUE),
                    fit_record("efron_cluster", f3, tr, py("efron", "id"))),
               "survival::heart")
