# Shared helpers of the tests/reference/cox_*/run.R scripts: record a coxph fit as JSON.
suppressMessages({library(survival); library(jsonlite)})
args <- commandArgs(FALSE)
here <- normalizePath(dirname(sub("^--file=", "", args[grep("^--file=", args)])))

fit_record <- function(name, fit, terms, python, zph = character(0), resid = FALSE, basehaz = FALSE) {
  rob <- !is.null(fit$naive.var)
  mv <- if (rob) fit$naive.var else fit$var
  rec <- list(name = name, call = paste(deparse(fit$call, width.cutoff = 500), collapse = " "),
              python = python, terms = terms,
              coef = unname(coef(fit)), se = unname(sqrt(diag(mv))),
              robust_se = if (rob) unname(sqrt(diag(fit$var))) else NULL,
              loglik = fit$loglik, iter = fit$iter, score_test = unname(fit$score),
              wald_test = unname(fit$wald.test), lr_test = 2 * diff(fit$loglik),
              n = fit$n, nevent = fit$nevent)
  if (length(zph)) rec$zph <- lapply(setNames(zph, zph), function(t) {
    z <- cox.zph(fit, transform = t)$table
    list(term = rownames(z), chisq = unname(z[, "chisq"]), df = unname(z[, "df"]), p = unname(z[, "p"]))
  })
  if (resid) {
    rec$score_resid <- unname(as.matrix(residuals(fit, type = "score")))
    rec$schoenfeld <- unname(as.matrix(residuals(fit, type = "schoenfeld")))
  }
  if (basehaz) {
    b <- basehaz(fit, centered = FALSE)
    rec$basehaz <- list(time = b$time, hazard = b$hazard)
  }
  rec
}

write_expected <- function(fits, data_note) {
  out <- list(generated_by = "run.R (Rscript run.R from this folder's parent or anywhere)",
              R_version = R.version.string,
              survival_version = as.character(packageVersion("survival")),
              tolerance = list(coef = 1e-6, loglik = 1e-6, se = 1e-5, zph = 1e-6, residuals = 1e-6),
              input = "input.csv", data = data_note, fits = fits)
  writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null"),
             file.path(here, "expected.json"))
}
