#!/usr/bin/env bash
# Install the system tools some tests use, where this machine allows it:
#   pdflatex (texlive-latex-base, texlive-latex-recommended) and pdftoppm (poppler-utils)
#   for the LaTeX snippets of `bayes-koryo report --format latex`;
#   a headless browser (chromium) for the HTML page of `bayes-koryo report --format html`.
# Installs only as root on a Debian/Ubuntu machine with apt-get; elsewhere it says what to
# install and the tests that need the tools are skipped with that reason. Never fails.
set -uo pipefail

missing=()
command -v pdflatex >/dev/null 2>&1 || missing+=(texlive-latex-base texlive-latex-recommended)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
  command -v google-chrome >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing ${missing[*]} for the LaTeX and browser tests (apt-get)"
  if apt-get update -qq >/dev/null 2>&1 && \
     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       "${missing[@]}" >/dev/null 2>&1; then
    exit 0
  fi
  echo "setup: apt-get could not install ${missing[*]}; the tests that need them will be" \
       "skipped" >&2
else
  echo "setup: ${missing[*]} not installed (needs root and apt-get); the tests that need" \
       "them will be skipped. Install them to run those tests." >&2
fi
exit 0
