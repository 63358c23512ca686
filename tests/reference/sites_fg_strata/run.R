# Site-stratified Fine-Gray (censoring distribution and baseline per site) by R survival:
# finegray() run within each site (censoring Kaplan-Meier per site), then the weighted coxph with
# strata(site) on the stacked data. Continuous times (no
# ties), where finegray's and crr's censoring weights coincide. The federated Fine-Gray of cohortstat
# (site aggregates, crr weights within each site) must give the same coefficients, log-likelihoods and
# information matrix (the inverse of coxph's model-based naive.var; its var is robust with these weights).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
set.seed(29)
sim <- function(s, n) {
  exposure <- rbinom(n, 1, 0.3 + 0.1 * s); age <- round(rnorm(n, 60 + 4 * s, 12), 2)
  region <- sample(if (s < 3) c("east", "north", "west") else c("east", "north"), n, replace = TRUE)
  lp <- 0.5 * exposure + 0.02 * (age - 60) + 0.3 * (region == "north")
  t1 <- rexp(n, 0.002 * s * exp(lp)); t2 <- rexp(n, 0.001 * (2.5 - 0.5 * s) * exp(0.3 * exposure))
  cc <- runif(n, 200, 1500); time <- round(pmin(t1, t2, cc), 6)
  event <- ifelse(t1 <= pmin(t2, cc), 1L, ifelse(t2 <= cc, 2L, 0L))
  data.frame(site = paste0("site", s), exposure, age, region, time, event)
}
d <- rbind(sim(1, 500), sim(2, 350), sim(3, 150))
stopifnot(!anyDuplicated(d$time))
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
d$status <- factor(d$event, 0:2, c("censor", "cancer", "death"))
fg <- do.call(rbind, lapply(split(d, d$site), function(x) {
  f <- finegray(Surv(time, status) ~ exposure + age + region, data = x, etype = "cancer")
  f$site <- x$site[1]
  f
}))
fit <- coxph(Surv(fgstart, fgstop, fgstatus) ~ exposure + age + region + strata(site), data = fg,
             weights = fgwt, ties = "breslow", control = coxph.control(eps = 1e-10, iter.max = 50))
doc <- list(generated_by = "run.R (Rscript run.R)", R_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            call = c('per site: finegray(Surv(time, status) ~ exposure + age + region, data = x, etype = "cancer")',
                     paste(deparse(fit$call), collapse = "")),
            tolerance = list(coef = 1e-7, loglik = 1e-9, information = 1e-6), input = "input.csv",
            python = list(duration = "time", event = "event", covariates = c("exposure", "age", "region"),
                          site = "site"),
            terms = names(coef(fit)), coef = unname(coef(fit)), loglik = fit$loglik,
            information = unname(solve(if (is.null(fit$naive.var)) fit$var else fit$naive.var)))
writeLines(toJSON(doc, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "expected.json"))
