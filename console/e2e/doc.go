// Package e2e tests the web console against a real sluiced started by
// cluster/clustertest: its JSON API with bad input, and its pages in a
// real headless Chromium driven by chromedp, checked against what the
// client (and so the CLI) reports.
//
//	go test ./console/e2e/
package e2e
