package client

import (
	"context"
	"net"
	"time"
)

// routeDialTimeout bounds the connection to a seed that finds the local
// address brokers can answer to.
const routeDialTimeout = 2 * time.Second

// routeHost returns the local IP address of a TCP connection to the first
// seed that accepts one: the interface that routes to the cluster, which
// the brokers can connect back to. It returns DefaultListenHost when no
// seed accepts within routeDialTimeout (bootstrap then reports the seeds
// as unreachable).
func routeHost(ctx context.Context, seeds []string) string {
	ctx, cancel := context.WithTimeout(ctx, routeDialTimeout)
	defer cancel()
	found := make(chan string, len(seeds))
	var d net.Dialer
	for _, s := range seeds {
		go func() {
			conn, err := d.DialContext(ctx, "tcp", s)
			if err != nil {
				found <- ""
				return
			}
			host, _, _ := net.SplitHostPort(conn.LocalAddr().String())
			_ = conn.Close()
			found <- host
		}()
	}
	for range seeds {
		if host := <-found; host != "" {
			return host
		}
	}
	return DefaultListenHost
}
