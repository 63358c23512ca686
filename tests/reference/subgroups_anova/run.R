# Reference for cohortstat.models.subgroups: hazard ratio per level of a subgroup variable
# (coxph with agegrp + x:agegrp) and the interaction likelihood-ratio test anova(coxph) against
# x + agegrp; on survival::colon (death, treatment Lev+5FU vs Obs, subgroup = age band) and on a
# simulated cohort with an effect differing by age band. Run from anywhere: Rscript run.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(FALSE)
here <- normalizePath(dirname(sub("^--file=", "", args[grep("^--file=", args)])))
one <- function(d, covs, name, strat = NULL, clus = NULL) {
  extra <- c(if (!is.null(strat)) paste0("strata(", strat, ")"), if (!is.null(clus)) paste0("cluster(", clus, ")"))
  rhs0 <- paste(c("x", "agegrp", covs, extra), collapse = " + ")
  rhs1 <- paste(c("agegrp", "x:agegrp", covs, extra), collapse = " + ")
  f0 <- coxph(as.formula(paste("Surv(time, status) ~", rhs0)), data = d, ties = "efron")
  f1 <- coxph(as.formula(paste("Surv(time, status) ~", rhs1)), data = d, ties = "efron")
  a <- if (is.null(clus)) anova(f0, f1) else list(Chisq = c(NA, 2 * (f1$loglik[2] - f0$loglik[2])), Df = c(NA, 2),
    "Pr(>|Chi|)" = c(NA, pchisq(2 * (f1$loglik[2] - f0$loglik[2]), 2, lower.tail = FALSE)))
  b <- coef(f1)[grep(":x$|^x:", names(coef(f1)))]; V <- vcov(f1)[names(b), names(b)]
  C <- cbind(-1, diag(length(b) - 1)); w <- drop(t(C %*% b) %*% solve(C %*% V %*% t(C)) %*% (C %*% b))
  list(name = name, input = paste0("input_", sub("cluster$", "", name), ".csv"), covariates = covs, strata = if (is.null(strat)) NA else strat,
       cluster = if (is.null(clus)) NA else clus,
       call_common = paste(deparse(f0$call, width.cutoff = 500), collapse = " "),
       call_by_level = paste(deparse(f1$call, width.cutoff = 500), collapse = " "),
       levels = levels(d$agegrp), terms = names(b), coef = unname(b), se = unname(sqrt(diag(V))), robust = !is.null(clus),
       loglik_common = f0$loglik[2], loglik_by_level = f1$loglik[2],
       lr_chisq = a$Chisq[2], lr_df = a$Df[2], lr_p = a[["Pr(>|Chi|)"]][2],
       wald_chisq = w, wald_p = pchisq(w, length(b) - 1, lower.tail = FALSE),
       events_exposed = unname(tapply(d$status[d$x == 1], d$agegrp[d$x == 1], sum)),
       events_reference = unname(tapply(d$status[d$x == 0], d$agegrp[d$x == 0], sum)))
}
c1 <- colon[colon$etype == 2 & colon$rx != "Lev", ]
co <- data.frame(time = c1$time, status = c1$status, x = as.integer(c1$rx == "Lev+5FU"), sex = c1$sex,
                 nodes4 = c1$node4, agegrp = cut(c1$age, c(0, 50, 65, 100), labels = c("a<50", "b50-64", "c65+"), right = FALSE))
write.csv(co, file.path(here, "input_colon.csv"), row.names = FALSE)
set.seed(4); n <- 3000
sim <- data.frame(x = rbinom(n, 1, 0.5), agegrp = factor(sample(c("18-49", "50-69", "70+"), n, TRUE)),
                  site = sample(c("s1", "s2"), n, TRUE), z = round(rnorm(n), 3))
hr <- c("18-49" = 1.0, "50-69" = 1.4, "70+" = 2.0)[as.character(sim$agegrp)]
tt <- rexp(n, 0.05 * hr^sim$x * exp(0.3 * sim$z)); cc <- runif(n, 1, 15)
sim$time <- round(pmin(tt, cc), 2); sim$status <- as.integer(tt <= cc)
write.csv(sim, file.path(here, "input_sim.csv"), row.names = FALSE)
simc <- sim; simc$pair <- rep(1:(n / 2), each = 2)  # pairs (matched sets) of consecutive rows of input_sim.csv
out <- list(generated_by = "run.R", R_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            tolerance = list(coef = 1e-6, se = 1e-6, loglik = 1e-9, test = 1e-6),
            cases = list(one(co, c("sex", "nodes4"), "colon"), one(sim, c("z"), "sim", strat = "site"),
                         one(simc, c("z"), "simcluster", clus = "pair")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "expected.json"))
