# Simulated heavy ties: integer days 1..60, event codes 0 censored / 1 outcome / 2 competing death;
# cause-specific model of cause 1 (Surv(time, event == 1)).
args <- commandArgs(FALSE); source(file.path(dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)]))), "..", "cox_helpers.R"))
set.seed(20261122); n <- 3000
x1 <- rnorm(n); x2 <- rbinom(n, 1, 0.4); grp <- sample(c("a", "b", "c", "d"), n, replace = TRUE)
lp <- 0.5 * x1 - 0.7 * x2 + c(a = 0, b = 0.3, c = -0.4, d = 0.8)[grp]
t1 <- rexp(n, 0.02 * exp(lp)); t2 <- rexp(n, 0.01); cens <- runif(n, 1, 60)
tt <- pmin(t1, t2, cens); ev <- ifelse(tt == t1, 1L, ifelse(tt == t2, 2L, 0L))
d <- data.frame(time = pmax(1, ceiling(tt)), event = ev, x1 = round(x1, 4), x2 = x2, grp = grp)
write.csv(d, file.path(here, "input.csv"), row.names = FALSE)
tr <- c("x1", "x2", "grp[b]", "grp[c]", "grp[d]")
py <- function(ties) list(duration = "time", event = "event", covariates = c("x1", "x2", "grp"), ties = ties, robust = FALSE)
f1 <- coxph(Surv(time, event == 1) ~ x1 + x2 + grp, data = d, ties = "efron")
f2 <- coxph(Surv(time, event == 1) ~ x1 + x2 + grp, data = d, ties = "breslow")
write_expected(list(fit_record("efron", f1, tr, py("efron"), c("km", "identity", "rank", "log"), basehaz = TRUE),
                    fit_record("breslow", f2, tr, py("breslow"), c("km", "rank"), basehaz = TRUE)),
               "simulated, seed 20261122, n 3000, integer days")
