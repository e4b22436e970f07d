package client

import (
	"context"
	"net"
	"testing"
)

func TestRouteHostIsTheLocalAddressToASeed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	// A refused seed first: the one that accepts decides.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	_ = dead.Close()
	// Linux answers 127.0.0.2 from the loopback address 127.0.0.1.
	if got := routeHost(context.Background(), []string{deadAddr, ln.Addr().String()}); net.ParseIP(got) == nil || !net.ParseIP(got).IsLoopback() {
		t.Fatalf("routeHost = %q, want a loopback address", got)
	}
	if got := routeHost(context.Background(), []string{deadAddr}); got != DefaultListenHost {
		t.Fatalf("routeHost with no seed answering = %q, want %s", got, DefaultListenHost)
	}
}
