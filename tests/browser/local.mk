# tests/browser: the web page in Debian's Chromium, driven by playwright-core
# against the whole system started by tools/run-demo.
TESTS += tests/browser/ui.test
dist_check_SCRIPTS += tests/browser/ui.test
EXTRA_DIST += tests/browser/ui.mjs tests/browser/package.json \
	tests/browser/package-lock.json
# the pinned playwright-core and the screenshots live in the build tree
clean-browser:
	rm -rf tests/browser/npm tests/artifacts/browser
.PHONY: clean-browser
