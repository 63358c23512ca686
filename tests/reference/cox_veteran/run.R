# survival::veteran with the 4-level factor celltype (reference: adeno, first sorted level).
args <- commandArgs(FALSE); source(file.path(dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)]))), "..", "cox_helpers.R"))
d <- veteran[, c("time", "status", "trt", "celltype", "karno", "age")]; d$celltype <- as.character(d$celltype)
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
tr <- c("trt", "celltype[large]", "celltype[smallcell]", "celltype[squamous]", "karno", "age")
py <- function(ties) list(duration = "time", event = "status", covariates = c("trt", "celltype", "karno", "age"), ties = ties, robust = FALSE)
f1 <- coxph(Surv(time, status) ~ trt + celltype + karno + age, data = d, ties = "efron")
f2 <- coxph(Surv(time, status) ~ trt + celltype + karno + age, data = d, ties = "breslow")
write_expected(list(fit_record("efron", f1, tr, py("efron"), c("km", "identity", "rank", "log"), resid = TRUE),
                    fit_record("breslow", f2, tr, py("breslow"), c("km"))),
               "survival::veteran, celltype as character")
