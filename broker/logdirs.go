package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// LogDirStatus is the state of the node's log directory in /cluster.
type LogDirStatus struct {
	Dir     string `json:"dir"`
	Offline bool   `json:"offline"`
	// Error and Since say why and since when it is offline.
	Error string    `json:"error,omitempty"`
	Since time.Time `json:"since,omitempty"`
}

// logDirStatus reports the data dir, offline or not.
func (s *Server) logDirStatus() []LogDirStatus {
	out := []LogDirStatus{{Dir: s.cfg.DataDir}}
	for _, o := range s.logDirs.Offline() {
		out[0] = LogDirStatus{Dir: o.Dir, Offline: true, Error: o.Error, Since: time.UnixMilli(o.SinceMs).UTC()}
	}
	return out
}

// registerLogDirMetrics adds sluice_log_dir_offline: 1 while the data dir
// is offline.
func (s *Server) registerLogDirMetrics(registry *prometheus.Registry) error {
	return registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "sluice_log_dir_offline",
		Help:        "1 while the log dir is offline after a write, fsync or rename error (its replicas are not served; restart the node once the disk is fixed).",
		ConstLabels: prometheus.Labels{"dir": s.cfg.DataDir},
	}, func() float64 {
		if len(s.logDirs.Offline()) > 0 {
			return 1
		}
		return 0
	}))
}

// logDirWarnings are the /healthz warning lines of offline log dirs.
func (s *Server) logDirWarnings() string {
	var b strings.Builder
	for _, o := range s.logDirs.Offline() {
		fmt.Fprintf(&b, "warning: log dir %s offline since %s: %s\n", o.Dir,
			time.UnixMilli(o.SinceMs).UTC().Format(time.RFC3339), o.Error)
	}
	return b.String()
}

// clearOfflineRecord removes the node's offline log dir record at start:
// the logs are recovered on open, and a dir that still fails is recorded
// again by the node.
func (s *Server) clearOfflineRecord(ctx context.Context) error {
	if err := metadata.ClearLogDirs(ctx, s.store, s.cfg.NodeID); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	return nil
}

// faultRule is the body of POST /test/faults.
type faultRule struct {
	// Op is write, sync or rename.
	Op string `json:"op"`
	// Pattern selects the files (see vfs.Rule.Pattern); empty: all.
	Pattern    string `json:"pattern"`
	AfterBytes int64  `json:"after_bytes"`
	// Errno is EIO (the default) or ENOSPC.
	Errno string `json:"errno"`
}

func (r faultRule) rule() (vfs.Rule, error) {
	out := vfs.Rule{Pattern: r.Pattern, AfterBytes: r.AfterBytes}
	switch r.Op {
	case "write":
		out.Op = vfs.OpWrite
	case "sync":
		out.Op = vfs.OpSync
	case "rename":
		out.Op = vfs.OpRename
	default:
		return out, fmt.Errorf("op %q: want write, sync or rename", r.Op)
	}
	switch r.Errno {
	case "", "EIO":
		out.Err = syscall.EIO
	case "ENOSPC":
		out.Err = syscall.ENOSPC
	default:
		return out, fmt.Errorf("errno %q: want EIO or ENOSPC", r.Errno)
	}
	return out, nil
}

// handleFaults serves /test/faults, only with Config.FaultInjection (a
// test hook): POST adds a rule that fails the matching log file
// operations from then on, DELETE removes every rule, GET reports how
// many operations failed.
func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case http.MethodPost:
		var fr faultRule
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&fr); err != nil {
			http.Error(w, `{"error":"bad rule"}`, http.StatusBadRequest)
			return
		}
		rule, err := fr.rule()
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		s.faults.Add(rule)
		s.logger.Warn("test fault injected", "op", fr.Op, "pattern", fr.Pattern, "after_bytes", fr.AfterBytes, "errno", rule.Err)
	case http.MethodDelete:
		s.faults.Clear()
	case http.MethodGet:
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]int{"fired": s.faults.Fired()})
}
