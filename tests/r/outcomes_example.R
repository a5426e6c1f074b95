# The estimator of monitor/reports/estimator.py, in R's survey package, on outcomes_example.csv
# (run by tests/test_reports_estimator.py when Rscript and survey are installed).
# Prints one CSV line per figure: domain,variable,n,estimate,se,ci_low,ci_high,logit_low,logit_high
# A share's estimate and SE are svymean's; its interval svyciprop's "xlogit" (the logit of svymean's
# mean, exactly the formula of the README), and beside it svyciprop's "logit" (the same interval
# from a fitted quasibinomial glm, equal up to the glm's convergence tolerance, about 1e-9).
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "adjust")
args <- commandArgs(trailingOnly = TRUE)
all <- read.csv(args[1], stringsAsFactors = FALSE, colClasses = c(disposition = "character"))
# N_h: the stratum's frame size less its follow-ups coded 4.x (not eligible)
not_eligible <- aggregate(list(ne = startsWith(all$disposition, "4.")), list(stratum = all$stratum), sum)
all <- merge(all, not_eligible, by = "stratum")
all$N_h <- all$frame_size - all$ne
respondents <- all[all$disposition %in% c("1.1", "1.2"), ]
des <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N_h, data = respondents)
df <- degf(des)

domains <- list(all = NULL, country = ~country, partner = ~partner, "country+partner" = ~country + partner)
out <- function(domain, variable, n, est, se, low, high, logit_low = low, logit_high = high) {
  cat(sprintf("%s,%s,%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", domain, variable, n, est, se, low, high,
              logit_low, logit_high))
}
figure <- function(design, variable, share, label, by) {
  design <- subset(design, !is.na(design$variables[[variable]]))
  f <- as.formula(paste0("~", variable))
  if (is.null(by)) {
    groups <- list(list(name = label, d = design))
  } else {
    keys <- unique(design$variables[, all.vars(by), drop = FALSE])
    groups <- lapply(seq_len(nrow(keys)), function(i) {
      key <- keys[i, , drop = FALSE]
      keep <- Reduce(`&`, lapply(names(key), function(k) design$variables[[k]] == key[[k]]))
      list(name = paste0(label, ":", paste(unlist(key), collapse = "/")), d = design[keep, ])
    })
  }
  estimates <- c()
  ses <- c()
  for (g in groups) {
    n <- nrow(g$d$variables)
    if (share) {
      m <- svymean(f, g$d)
      x <- attr(suppressWarnings(svyciprop(f, g$d, method = "xlogit", df = df)), "ci")
      l <- attr(svyciprop(f, g$d, method = "logit", df = df), "ci")
      out(g$name, variable, n, coef(m), SE(m), x[1], x[2], l[1], l[2])
      estimates <- c(estimates, coef(m))
      ses <- c(ses, SE(m))
    } else {
      m <- svymean(f, g$d)
      ci <- confint(m, df = df)
      out(g$name, variable, n, coef(m), SE(m), ci[1], ci[2])
      estimates <- c(estimates, coef(m))
      ses <- c(ses, SE(m))
    }
  }
  # the domains one by one agree with svyby, as the README writes the call
  if (!is.null(by)) {
    b <- if (share) svyby(f, by, design, svyciprop, method = "logit", df = df)
         else svyby(f, by, design, svymean, na.rm = TRUE)
    tolerance <- if (share) 1e-8 else 1e-12  # svyciprop's logit is a fitted glm
    stopifnot(isTRUE(all.equal(sort(unname(coef(b))), sort(unname(estimates)), tolerance = tolerance)),
              isTRUE(all.equal(sort(unname(SE(b))), sort(unname(ses)), tolerance = 1e-6)))
  }
}
for (name in names(domains)) {
  for (v in c("economic", "composite")) figure(des, v, FALSE, name, domains[[name]])
  for (v in c("no_shelter", "feels_unsafe", "rely")) figure(des, v, TRUE, name, domains[[name]])
}
# a domain filter: women only, by country
women <- subset(des, sex == "f")
for (v in c("economic", "composite")) figure(women, v, FALSE, "f", ~country)
for (v in c("no_shelter", "rely")) figure(women, v, TRUE, "f", ~country)
cat(sprintf("df,%d\n", df))
