# Reference for cohortstat.models.sir: expected counts from reference rates by age band x sex x
# calendar year, with follow-up split on the age scale and then on the calendar scale by two
# survival::survSplit calls (times in days, a person-year = 365.25 days), and the exact Poisson
# interval and p-value of stats::poisson.test(observed, expected). Run: Rscript run.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(FALSE)
here <- normalizePath(dirname(sub("^--file=", "", args[grep("^--file=", args)])))
set.seed(2023); n <- 400
d <- data.frame(id = 1:n, group = sample(c("sepsis", "trauma"), n, TRUE), sex = sample(1:2, n, TRUE),
                age = round(runif(n, 40, 88), 3),
                entry_date = as.Date("2010-01-01") + sample(0:2000, n, TRUE))
d$time <- sample(1:3650, n, TRUE)
d$event <- rbinom(n, 1, ifelse(d$group == "sepsis", 0.12, 0.08))
write.csv(d, file.path(here, "input_cohort.csv"), row.names = FALSE)
bands <- c(40, 50, 60, 70, 80, Inf)
yrs <- 2010:2025
rates <- expand.grid(band = 1:5, sex = 1:2, year = yrs)
rates$age_start <- bands[rates$band]; rates$age_end <- bands[rates$band + 1]
rates$rate <- round(200 * exp(0.6 * (rates$band - 1)) * ifelse(rates$sex == 1, 1.2, 1) * (1 + 0.01 * (rates$year - 2010)), 2)
write.csv(rates[, c("age_start", "age_end", "sex", "year", "rate")], file.path(here, "input_rates.csv"), row.names = FALSE)
# age scale (days): bands cut at 365.25 * age
d$a0 <- d$age * 365.25; d$a1 <- d$a0 + d$time; d$a00 <- d$a0
s1 <- survSplit(Surv(a0, a1, event) ~ ., data = d, cut = 365.25 * c(50, 60, 70, 80), episode = "band")
# calendar scale (days since 1970-01-01): cut at 1 January
s1$c0 <- as.numeric(s1$entry_date) + (s1$a0 - s1$a00); s1$c1 <- s1$c0 + (s1$a1 - s1$a0)
jan1 <- as.numeric(as.Date(paste0(2011:2026, "-01-01")))
s2 <- survSplit(Surv(c0, c1, event) ~ ., data = s1, cut = jan1, episode = "yr")
s2$year <- 2009 + s2$yr
s2$py <- (s2$c1 - s2$c0) / 365.25
key <- paste(s2$band, s2$sex, s2$year); rk <- paste(rates$band, rates$sex, rates$year)
s2$rate <- rates$rate[match(key, rk)] / 1e5
stopifnot(!any(is.na(s2$rate)))
one <- function(g) {
  s <- s2[s2$group == g, ]; O <- sum(s$event); E <- sum(s$rate * s$py); pt <- poisson.test(O, E)
  list(group = g, observed = O, expected = E, sir = O / E, ci_lower = pt$conf.int[1], ci_upper = pt$conf.int[2],
       p = pt$p.value, person_years = sum(s$py), n_pieces = nrow(s))
}
ptests <- lapply(list(c(0, 2.5), c(3, 7.2), c(12, 4.1), c(7, 7), c(1, 0.3), c(40, 55.5)), function(v) {
  pt <- poisson.test(v[1], v[2]); list(x = v[1], T = v[2], lower = pt$conf.int[1], upper = pt$conf.int[2], p = pt$p.value)
})
out <- list(generated_by = "run.R", R_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            tolerance = list(expected = 1e-9, ci = 1e-9, p = 1e-9),
            call = "two survSplit calls (age scale, then calendar scale) and poisson.test(observed, expected)",
            rate_per = 1e5, groups = lapply(c("sepsis", "trauma"), one), poisson_test = ptests)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "expected.json"))
