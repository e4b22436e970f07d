//go:build tools

// Package consul pins the Consul agent used by the cluster tests. It is built
// into bin/consul by `make consul` and never imported by Sluice itself.
package consul

import _ "github.com/hashicorp/consul"
