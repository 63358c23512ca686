# Reference for cohortstat.models.calibration: the worked examples of OHDSI EmpiricalCalibration.
# Inputs: the package's data sets `sccs` (Schuemie et al. 2014: sertraline and 45 negative-control
# drugs, upper GI bleeding) and `southworthReplication` (dabigatran vs warfarin: negative and synthetic
# positive controls), from github.com/OHDSI/EmpiricalCalibration data/*.rda at commit
# 03d4747fd805e92744d0bcaf603f4c2d0b13370b. Run: Rscript run.R DIR_WITH_RDA_FILES
# The script writes input_sccs.csv, input_southworth.csv and expected.json with (1) the numbers the
# package's vignettes print (published) and (2) an independent maximum-likelihood fit in base R.
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(FALSE)
here <- normalizePath(dirname(sub("^--file=", "", args[grep("^--file=", args)])))
rda <- commandArgs(TRUE)[1]
load(file.path(rda, "sccs.rda")); load(file.path(rda, "southworthReplication.rda"))
write.csv(sccs, file.path(here, "input_sccs.csv"), row.names = FALSE)
write.csv(southworthReplication, file.path(here, "input_southworth.csv"), row.names = FALSE, na = "")

neg <- sccs[sccs$groundTruth == 0, ]; pos <- sccs[sccs$groundTruth == 1, ]
# independent ML of y ~ N(mu, tau^2 + se^2): profile over tau, mu = inverse-variance weighted mean
prof <- function(tau, y, s) { v <- tau^2 + s^2; m <- sum(y / v) / sum(1 / v); sum(dnorm(y, m, sqrt(v), log = TRUE)) }
tau <- optimize(prof, c(0, 5), y = neg$logRr, s = neg$seLogRr, maximum = TRUE, tol = 1e-12)$maximum
v <- tau^2 + neg$seLogRr^2; mu <- sum(neg$logRr / v) / sum(1 / v)
sd_pos <- sqrt(tau^2 + pos$seLogRr^2)
p_cal <- 2 * min(pnorm((pos$logRr - mu) / sd_pos), pnorm((mu - pos$logRr) / sd_pos))
ci_null <- c(pos$logRr - mu, pos$logRr - mu - qnorm(0.975) * sd_pos, pos$logRr - mu + qnorm(0.975) * sd_pos)

ctrl <- southworthReplication[!is.na(southworthReplication$trueLogRr), ]
nll <- function(th) { sd <- th[3] + th[4] * abs(ctrl$trueLogRr); if (any(sd < 0)) return(Inf)
  -sum(dnorm(ctrl$logRr, th[1] + th[2] * ctrl$trueLogRr, sqrt(sd^2 + ctrl$seLogRr^2), log = TRUE)) }
th <- c(0, 1, 0.1, 0)
for (k in 1:6) th <- optim(th, nll, control = list(reltol = 1e-15, maxit = 50000))$par
out <- list(
  generated_by = "run.R (Rscript run.R DIR_WITH_EmpiricalCalibration_rda_FILES)",
  R_version = R.version.string,
  source = "OHDSI EmpiricalCalibration, data/sccs.rda and data/southworthReplication.rda at commit 03d4747fd805e92744d0bcaf603f4c2d0b13370b; published values from its vignettes EmpiricalPCalibrationVignette and EmpiricalCiCalibrationVignette (docs/articles/*.html at that commit)",
  tolerance = list(published_printed = "as printed (4 significant digits for the null, 7 for p and CI)",
                   published_optimiser = 2e-4, independent_ml = 1e-6),
  published = list(
    sccs_null = list(call = "fitNull(negatives$logRr, negatives$seLogRr)", mean = 0.7922, sd = 0.2834),
    sccs_calibrated_p = list(call = "calibrateP(null, drugOfInterest$logRr, drugOfInterest$seLogRr)", drug = "Sertraline", p = 0.8389142),
    southworth_model = list(call = "fitSystematicErrorModel(controls$logRr, controls$seLogRr, controls$trueLogRr)",
                            meanIntercept = -0.066550795, meanSlope = 0.933292141, sdIntercept = 0.187468405, sdSlope = 0.002979502),
    southworth_ci = list(call = "calibrateConfidenceInterval(outcomeOfInterest$logRr, outcomeOfInterest$seLogRr, model)",
                         outcome = "GiBleed", logRr = -0.3117702, logLb95Rr = -0.733957, logUb95Rr = 0.1067054, seLogRr = 0.2144587)),
  independent_ml = list(
    sccs_null = list(mean = mu, sd = tau, loglik = prof(tau, neg$logRr, neg$seLogRr), n_controls = nrow(neg)),
    sccs_calibrated_p = p_cal,
    sccs_calibrated_ci_log = ci_null,
    southworth_model = list(par = th, negloglik = nll(th), n_controls = nrow(ctrl))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "expected.json"))
