# Clustered robust variance: survival::colon (2 rows per patient: recurrence and death), cluster(id).
args <- commandArgs(FALSE); source(file.path(dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)]))), "..", "cox_helpers.R"))
d <- na.omit(colon[, c("id", "time", "status", "rx", "sex", "age", "nodes", "etype")]); d$rx <- as.character(d$rx)
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
tr <- c("rx[Lev+5FU]", "rx[Obs]", "sex", "age", "nodes")
py <- function(ties, cluster, strata = NULL) list(duration = "time", event = "status", covariates = c("rx", "sex", "age", "nodes"), cluster = cluster, strata = strata, ties = ties, robust = TRUE)
f1 <- coxph(Surv(time, status) ~ rx + sex + age + nodes, data = d, cluster = id, ties = "efron")
f2 <- coxph(Surv(time, status) ~ rx + sex + age + nodes, data = d, cluster = id, ties = "breslow")
f3 <- coxph(Surv(time, status) ~ rx + sex + age + nodes + strata(etype), data = d, cluster = id, ties = "efron")
write_expected(list(fit_record("efron_cluster", f1, tr, py("efron", "id")),
                    fit_record("breslow_cluster", f2, tr, py("breslow", "id")),
                    fit_record("efron_cluster_strata", f3, tr, py("efron", "id", "etype"), c("km"))),
               "survival::colon complete cases, rx as character (reference Lev)")
