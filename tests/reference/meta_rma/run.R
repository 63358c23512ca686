# Meta-analysis of per-site log hazard ratios: metafor rma(method = "REML", test = "knha"),
# rma(method = "REML") (z test) and rma(method = "FE"), on several sets of per-site estimates.
# Writes input.csv (set, yi, sei) and expected.json next to this script.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
args <- commandArgs(FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
set.seed(17)
sets <- list(
  four_sites = list(yi = c(0.31, 0.18, 0.45, 0.02), sei = c(0.08, 0.11, 0.21, 0.35)),
  two_sites = list(yi = c(0.25, 0.61), sei = c(0.10, 0.15)),
  homogeneous = list(yi = c(0.20, 0.21, 0.19, 0.205, 0.198), sei = c(0.10, 0.12, 0.09, 0.15, 0.11)),
  large_heterogeneity = list(yi = c(-0.40, 0.10, 0.95, 1.60, 0.30, -0.05), sei = c(0.05, 0.07, 0.06, 0.10, 0.04, 0.08)),
  simulated_ten = local({
    k <- 10; sei <- runif(k, 0.05, 0.4); th <- rnorm(k, 0.3, 0.3)
    list(yi = round(rnorm(k, th, sei), 6), sei = round(sei, 6))
  }),
  two_sites_equal = list(yi = c(0.40, 0.40), sei = c(0.20, 0.30))
)
one <- function(fit) list(
  call = paste(deparse(fit$call), collapse = " "),
  estimate = c(fit$beta), se = fit$se, ci_lower = fit$ci.lb, ci_upper = fit$ci.ub, stat = fit$zval, p = fit$pval,
  df = if (is.null(fit$ddf)) NA else fit$ddf,
  tau2 = fit$tau2, se_tau2 = fit$se.tau2,
  I2 = fit$I2, H2 = fit$H2, Q = fit$QE, Q_p = fit$QEp)
rows <- list(); out <- list()
for (nm in names(sets)) {
  s <- sets[[nm]]
  rows[[nm]] <- data.frame(set = nm, yi = s$yi, sei = s$sei)
  out[[nm]] <- list(
    yi = s$yi, sei = s$sei,
    reml_knha = one(rma(yi = s$yi, sei = s$sei, method = "REML", test = "knha")),
    reml_z = one(rma(yi = s$yi, sei = s$sei, method = "REML")),
    fe = one(rma(yi = s$yi, sei = s$sei, method = "FE")))
}
write.csv(do.call(rbind, rows), file.path(here, "input.csv"), row.names = FALSE)
doc <- list(generated_by = "run.R (Rscript run.R)", R_version = R.version.string,
            metafor_version = as.character(packageVersion("metafor")),
            tolerance = list(relative = 1e-6, absolute = 1e-10), input = "input.csv", sets = out)
writeLines(toJSON(doc, auto_unbox = TRUE, na = "null", digits = NA, pretty = TRUE), file.path(here, "expected.json"))
