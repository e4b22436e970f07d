// Package console is the web console of a node: a small JSON API under
// /api/ and the browser pages under /ui/ that use it, both served by the
// node's admin HTTP server. The pages are plain HTML, CSS and JavaScript
// embedded in the binary, so the console fetches nothing from elsewhere.
//
// The API asks the cluster through an actor client (package client) that
// the console starts on first use and connects to its own node, and builds
// its views with package client/admin, as the sluice CLI does: what the
// console shows is what the CLI shows. Every list it returns is bounded.
package console
