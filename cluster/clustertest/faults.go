package clustertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// FaultFlags are the flags that enable a node's fault injection hook
// (POST /test/faults on its admin HTTP server); pass them with WithFlags.
func FaultFlags() []string { return []string{"--test-fault-injection"} }

// Fault is a rule of a node's fault injection hook: from now on the log
// file operation Op ("write", "sync" or "rename") on files matching
// Pattern (a filepath.Match pattern against the base name or the whole
// path; empty: every file) fails with Errno ("EIO" or "ENOSPC") once
// AfterBytes more bytes were written to them.
type Fault struct {
	Op         string `json:"op"`
	Pattern    string `json:"pattern,omitempty"`
	AfterBytes int64  `json:"after_bytes,omitempty"`
	Errno      string `json:"errno,omitempty"`
}

// InjectFault installs f on node i, started with FaultFlags.
func (c *Cluster) InjectFault(i int, f Fault) {
	c.t.Helper()
	body, err := json.Marshal(f)
	if err != nil {
		c.t.Fatal(err)
	}
	c.faultRequest(i, http.MethodPost, body)
}

// ClearFaults removes every fault rule of node i: its disk is healthy
// again (the node still needs a restart to serve an offline log dir).
func (c *Cluster) ClearFaults(i int) {
	c.t.Helper()
	c.faultRequest(i, http.MethodDelete, nil)
}

func (c *Cluster) faultRequest(i int, method string, body []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, "http://"+c.nodes[i].HTTP+"/test/faults", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		c.t.Fatalf("clustertest: fault request to node %d: %v", c.nodes[i].ID, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("clustertest: fault request to node %d: HTTP %d: %s", c.nodes[i].ID, resp.StatusCode, msg)
	}
}

// HTTPGet returns the status and body of GET path on node i's admin HTTP
// server.
func (c *Cluster) HTTPGet(i int, path string) (int, string, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + c.nodes[i].HTTP + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("clustertest: read %s: %w", path, err)
	}
	return resp.StatusCode, string(b), nil
}
