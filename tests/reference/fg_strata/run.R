# Reference for cohortstat FineGray(variance="robust", strata=...) on survival::mgus2 (complete cases):
# finegray(Surv(etime, ev) ~ . + strata(sex)) (censoring distribution by stratum) and
# coxph(Surv(fgstart, fgstop, fgstatus) ~ age + mspike + strata(sex), weights = fgwt, ties = "breslow",
# cluster = id) (baseline by stratum). Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
d <- mgus2[!is.na(mgus2$mspike), ]
d$etime <- ifelse(d$pstat == 0, d$futime, d$ptime)
d$event <- ifelse(d$pstat == 0, 2 * d$death, 1)
d <- d[, c("id", "etime", "event", "age", "sex", "mspike")]
d$sex <- as.character(d$sex)
d$w <- 1 + (d$id %% 3) / 2
d$agegrp <- ifelse(d$age < 70, "young", "old")
write.csv(d, "input.csv", row.names = FALSE)
case <- function(cause, strata, weighted = FALSE) {
  d$ev <- factor(d$event, 0:2, c("censor", "pcm", "death"))
  dd <- d[, c("id", "w", "etime", "ev", "age", "sex", "mspike", "agegrp")]
  sf <- paste(strata, collapse = ", ")
  fgf <- as.formula(paste0("Surv(etime, ev) ~ id + w + age + mspike + ", paste(strata, collapse = " + "), " + strata(", sf, ")"))
  fg <- if (!weighted) finegray(fgf, data = dd, etype = c("pcm", "death")[cause])
        else {
          # finegray(strata(), weights =) in survival 3.5-3 indexes the user weights of the whole data
          # with within-stratum row numbers (user.weights[split$row]); expanding each stratum on its
          # own and stacking gives the intended weights
          do.call(rbind, lapply(split(dd, dd[strata]), function(s)
            finegray(Surv(etime, ev) ~ ., data = s, etype = c("pcm", "death")[cause], weights = w)))
        }
  cf <- as.formula(paste0("Surv(fgstart, fgstop, fgstatus) ~ age + mspike + strata(", sf, ")"))
  f <- coxph(cf, data = fg, weights = fgwt, ties = "breslow", cluster = id)
  list(cause = cause, strata = strata, weighted = weighted, call = paste(deparse(f$call, width.cutoff = 500), collapse = " "),
       coef = unname(coef(f)), se = unname(sqrt(diag(f$naive.var))), robust_se = unname(sqrt(diag(f$var))),
       loglik = f$loglik[2], loglik_null = f$loglik[1])
}
out <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            tolerance = list(estimate = 1e-6, variance = 1e-5),
            cases = list(case(1, "sex"), case(2, "sex", TRUE), case(1, c("sex", "agegrp"))))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
