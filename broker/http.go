package broker

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveHTTP serves /healthz (200 "ok" while the node serves requests, with
// a warning line while it is not registered in the cluster; 503 while
// starting, while it knows no controller or still spawns replicas, and
// during shutdown), /cluster (ClusterStatus as JSON), the web console
// (/ui/ and its API under /api/, package console), /metrics (Prometheus
// text format) and /debug/pprof/ (Go profiles) on ln.
func (s *Server) serveHTTP(ln net.Listener, registry *prometheus.Registry) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("unavailable\n"))
			return
		}
		if err := s.ready.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		_, _ = w.Write([]byte(s.healthText()))
	})
	mux.HandleFunc("/cluster", s.handleCluster)
	s.console.Register(mux)
	if s.faults != nil {
		mux.HandleFunc("/test/faults", s.handleFaults)
	}
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.httpServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.httpDone = make(chan struct{})
	go func() {
		defer close(s.httpDone)
		if err := s.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("admin http server", "error", err)
		}
	}()
}

// errNotServing is the console's answer while the node starts or stops.
var errNotServing = errors.New("broker: node not serving (starting or shutting down)")

// consoleReady gates the console's API on the node serving requests.
func (s *Server) consoleReady() error {
	if !s.healthy.Load() {
		return errNotServing
	}
	return nil
}
