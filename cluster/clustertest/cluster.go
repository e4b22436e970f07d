package clustertest

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/internal/testport"
	"github.com/sluice-mq/sluice/messages"
)

// Timeouts of the harness.
const (
	// StartTimeout bounds waiting for a node's /healthz.
	StartTimeout = 30 * time.Second
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	StopTimeout = 30 * time.Second
)

// Option configures Start.
type Option func(*options)

type options struct {
	flags    func(i int) []string
	logLevel string
	firstID  int32
	dataDir  func(i int) string
}

// WithFlags adds flags to node i's command line (e.g. --consul, --config).
func WithFlags(fn func(i int) []string) Option { return func(o *options) { o.flags = fn } }

// WithLogLevel sets every node's --log-level (default info).
func WithLogLevel(level string) Option { return func(o *options) { o.logLevel = level } }

// WithFirstNodeID numbers nodes from id (default 1): node i gets id+i.
func WithFirstNodeID(id int32) Option { return func(o *options) { o.firstID = id } }

// WithDataDir puts node i's data dir at fn(i) (default: in a temporary
// directory), e.g. on a small file system the test mounted.
func WithDataDir(fn func(i int) string) Option { return func(o *options) { o.dataDir = fn } }

// Cluster is a set of sluiced processes started by Start.
type Cluster struct {
	t     testing.TB
	bin   string
	opts  options
	nodes []*Node
}

// Node is one sluiced process. Its ports and data dir stay the same across
// Restart.
type Node struct {
	ID      int32
	Addr    string // actor remote host:port
	HTTP    string // admin HTTP host:port
	Kafka   string // Kafka listener host:port
	DataDir string
	LogPath string

	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	err    error         // exit status, valid after done
	paused bool          // stopped by Pause (SIGSTOP) and not resumed
}

// Start starts n nodes and waits until every one answers /healthz. They
// are stopped in t.Cleanup; on failure their logs are printed.
func Start(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: filepath.Join(BuildBinaries(t), "sluiced"), opts: options{logLevel: "info", firstID: 1}}
	for _, o := range opts {
		o(&c.opts)
	}
	root := t.TempDir()
	for i := range n {
		node := &Node{
			ID:      c.opts.firstID + int32(i),
			Addr:    freeAddr(t),
			HTTP:    freeAddr(t),
			Kafka:   freeAddr(t),
			DataDir: filepath.Join(root, fmt.Sprintf("node%d", i), "data"),
			LogPath: filepath.Join(root, fmt.Sprintf("node%d.log", i)),
		}
		if c.opts.dataDir != nil {
			node.DataDir = c.opts.dataDir(i)
		}
		if err := os.MkdirAll(filepath.Dir(node.DataDir), 0o755); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, node)
	}
	t.Cleanup(c.cleanup)
	for i := range c.nodes {
		c.launch(i)
	}
	for i := range c.nodes {
		c.WaitHealthy(i)
	}
	return c
}

// Len is the number of nodes.
func (c *Cluster) Len() int { return len(c.nodes) }

// Node returns node i.
func (c *Cluster) Node(i int) *Node { return c.nodes[i] }

// Addr is node i's actor remote address.
func (c *Cluster) Addr(i int) string { return c.nodes[i].Addr }

// HTTP is node i's admin HTTP address.
func (c *Cluster) HTTP(i int) string { return c.nodes[i].HTTP }

// Kafka is node i's Kafka listener address.
func (c *Cluster) Kafka(i int) string { return c.nodes[i].Kafka }

// DataDir is node i's data directory.
func (c *Cluster) DataDir(i int) string { return c.nodes[i].DataDir }

// NodePID is the PID of node i's guardian actor.
func (c *Cluster) NodePID(i int) *actor.PID {
	return actor.NewPID(c.nodes[i].Addr, messages.NodeActorID)
}

// ReplicaPID is the PID of the replica of topic/partition on node i.
func (c *Cluster) ReplicaPID(i int, topic string, partition int32) *actor.PID {
	return actor.NewPID(c.nodes[i].Addr, messages.ReplicaActorID(topic, partition))
}

func (c *Cluster) args(i int) []string {
	n := c.nodes[i]
	args := []string{
		"--node-id", strconv.Itoa(int(n.ID)),
		"--data-dir", n.DataDir,
		"--listen", n.Addr,
		"--http", n.HTTP,
		"--kafka-listen", n.Kafka,
		"--log-level", c.opts.logLevel,
	}
	if c.opts.flags != nil {
		args = append(args, c.opts.flags(i)...)
	}
	return args
}

// launch starts node i's process without waiting for it.
func (c *Cluster) launch(i int) {
	c.t.Helper()
	n := c.nodes[i]
	logFile, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	fmt.Fprintf(logFile, "=== start node %d: sluiced %v\n", n.ID, c.args(i))
	cmd := exec.Command(c.bin, c.args(i)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		c.t.Fatalf("clustertest: start node %d: %v", n.ID, err)
	}
	n.cmd, n.done, n.err, n.paused = cmd, make(chan struct{}), nil, false
	go func() {
		n.err = cmd.Wait()
		_ = logFile.Close()
		close(n.done)
	}()
}

// WaitHealthy waits until node i answers /healthz with 200.
func (c *Cluster) WaitHealthy(i int) {
	c.t.Helper()
	n := c.nodes[i]
	deadline := time.Now().Add(StartTimeout)
	httpClient := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-n.done:
			c.t.Fatalf("clustertest: node %d exited during startup: %v\n%s", n.ID, n.err, readLog(n.LogPath))
		default:
		}
		resp, err := httpClient.Get("http://" + n.HTTP + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("clustertest: node %d not healthy after %s\n%s", n.ID, StartTimeout, readLog(n.LogPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL to node i and waits for it to exit.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if !n.running() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// Stop sends SIGTERM to node i and waits for it to exit (SIGKILL after
// StopTimeout); it returns the exit status (nil for exit code 0).
func (c *Cluster) Stop(i int) error {
	c.t.Helper()
	n := c.nodes[i]
	if !n.running() {
		return n.err
	}
	n.resume()
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(StopTimeout):
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.done
		return fmt.Errorf("clustertest: node %d did not stop within %s: killed", n.ID, StopTimeout)
	}
	return n.err
}

// Restart stops node i (SIGTERM) if it runs, starts it again with the same
// ports and data dir, and waits until it is healthy.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if err := c.Stop(i); err != nil {
		c.t.Errorf("clustertest: node %d stop before restart: %v", c.nodes[i].ID, err)
	}
	c.launch(i)
	c.WaitHealthy(i)
}

// StartNode starts a stopped or killed node i again and waits for it.
func (c *Cluster) StartNode(i int) {
	c.t.Helper()
	if c.nodes[i].running() {
		return
	}
	c.launch(i)
	c.WaitHealthy(i)
}

// SetFlags replaces the extra flags of every later start (WithFlags).
func (c *Cluster) SetFlags(fn func(i int) []string) { c.opts.flags = fn }

// StartExpectExit starts a stopped node i and waits for its process to
// exit on its own (a refused start), returning the exit code; the test
// fails if it is still running after StartTimeout.
func (c *Cluster) StartExpectExit(i int) int {
	c.t.Helper()
	n := c.nodes[i]
	if n.running() {
		c.t.Fatalf("clustertest: node %d is running", n.ID)
	}
	c.launch(i)
	select {
	case <-n.done:
	case <-time.After(StartTimeout):
		c.t.Fatalf("clustertest: node %d still running after %s, want it to exit\n%s", n.ID, StartTimeout, readLog(n.LogPath))
	}
	return n.ExitCode()
}

// Log returns node i's log so far.
func (c *Cluster) Log(i int) string { return readLog(c.nodes[i].LogPath) }

// cleanup stops every node and prints the logs when the test failed.
func (c *Cluster) cleanup() {
	for i, n := range c.nodes {
		if !n.running() {
			continue
		}
		if err := c.Stop(i); err != nil {
			c.t.Errorf("clustertest: node %d: %v", n.ID, err)
		}
	}
	if c.t.Failed() {
		for _, n := range c.nodes {
			c.t.Logf("--- node %d log (%s):\n%s", n.ID, n.LogPath, readLog(n.LogPath))
		}
	}
}

func (n *Node) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// PID is the operating-system process id of the node's current process,
// 0 if it never started.
func (n *Node) PID() int {
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// ExitCode is the exit code of the node's last process, -1 while it runs
// or when it was killed by a signal.
func (n *Node) ExitCode() int {
	if n.running() || n.cmd == nil {
		return -1
	}
	var exit *exec.ExitError
	if errors.As(n.err, &exit) {
		return exit.ExitCode()
	}
	if n.err != nil {
		return -1
	}
	return 0
}

func readLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// freeAddr returns a loopback address reserved for this process
// (testport): free now, outside the ephemeral range, so that a node
// restarted on it finds it free again.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := testport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
