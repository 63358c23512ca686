# Reference for cohortstat FineGray(variance="crr") on survival::mgus2 (progression to plasma-cell
# malignancy (1) vs death before it (2)), covariates age, sex (M vs F), mspike (complete cases).
# Also the finegray + coxph(robust) fit for variance="robust". Run from this folder: Rscript run.R
suppressPackageStartupMessages({library(cmprsk); library(survival); library(jsonlite)})
d <- mgus2[!is.na(mgus2$mspike), ]
d$etime <- ifelse(d$pstat == 0, d$futime, d$ptime)
d$event <- ifelse(d$pstat == 0, 2 * d$death, 1)
d <- d[, c("id", "etime", "event", "age", "sex", "mspike")]
d$sex <- as.character(d$sex)
d$w <- 1 + (d$id %% 3) / 2        # case weights for the weighted robust case
d$cl <- d$id %% 97                 # an arbitrary cluster for the clustered robust case
write.csv(d, "input.csv", row.names = FALSE)
X <- model.matrix(~ age + sex + mspike, d)[, -1]
crr_case <- function(cause) {
  f <- crr(d$etime, d$event, X, failcode = cause)
  list(cause = cause, terms = colnames(X), coef = unname(f$coef), var = unname(f$var),
       loglik = f$loglik, loglik_null = f$loglik.null, converged = f$converged)
}
robust_case <- function(cause, weighted = FALSE, clvar = "id") {
  d$ev <- factor(d$event, 0:2, c("censor", "pcm", "death"))
  dd <- d[, c("id", "cl", "w", "etime", "ev", "age", "sex", "mspike")]
  fg <- if (weighted) finegray(Surv(etime, ev) ~ ., data = dd, etype = c("pcm", "death")[cause], weights = w)
        else finegray(Surv(etime, ev) ~ ., data = dd, etype = c("pcm", "death")[cause])
  fg$clu <- fg[[clvar]]
  f <- coxph(Surv(fgstart, fgstop, fgstatus) ~ age + sex + mspike, data = fg, weights = fgwt,
             ties = "breslow", cluster = clu)
  list(cause = cause, weighted = weighted, cluster = clvar, coef = unname(coef(f)), se = unname(sqrt(diag(f$naive.var))),
       robust_se = unname(sqrt(diag(f$var))), loglik = f$loglik[2], loglik_null = f$loglik[1])
}
out <- list(r_call = paste("crr(etime, event, model.matrix(~ age + sex + mspike)[, -1], failcode = cause);",
                           "coxph(Surv(fgstart, fgstop, fgstatus) ~ age + sex + mspike, weights = fgwt,",
                           "ties = 'breslow', cluster = id) on finegray(Surv(etime, ev) ~ ., etype = cause)"),
            r_version = R.version.string, cmprsk_version = as.character(packageVersion("cmprsk")),
            survival_version = as.character(packageVersion("survival")),
            tolerance = list(estimate = 1e-6, variance = 1e-5),
            crr = list(crr_case(1), crr_case(2)), robust = list(robust_case(1), robust_case(2), robust_case(1, TRUE), robust_case(2, TRUE, "cl")))
write_json(out, "expected.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
