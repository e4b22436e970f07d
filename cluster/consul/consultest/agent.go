package consultest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/sluice-mq/sluice/internal/testport"
)

const (
	// readyTimeout bounds how long a starting agent may take to elect
	// itself leader and register its node.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds a graceful stop before the agent is killed.
	stopTimeout = 15 * time.Second
	// interruptInterval is how long a graceful stop may take before the
	// agent is interrupted again.
	interruptInterval = 3 * time.Second
	// startAttempts is how many fresh port sets Start tries: another
	// process may take a probed port before the agent binds it.
	startAttempts = 3
	// logTailBytes is how much of the agent log a failed test prints.
	logTailBytes = 16 << 10
	// nodeName is the agent's node name, kept across restarts.
	nodeName = "consultest"
)

// ports are the agent's listeners, all on 127.0.0.1. DNS, gRPC and HTTPS
// are disabled.
type ports struct {
	http, serfLAN, serfWAN, server int
}

// Agent is a running `consul agent -dev` (in-memory state, single server)
// listening on loopback only. Its methods must be called from the test's
// goroutine.
type Agent struct {
	t       testing.TB
	binary  string
	dir     string
	logPath string
	ports   ports

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for; nil when stopped
}

// Start runs a dev agent for the test and stops it on cleanup; the agent
// log is printed if the test fails. Without a consul binary the test is
// skipped, or failed when SLUICE_REQUIRE_CONSUL=1.
func Start(t testing.TB) *Agent {
	t.Helper()
	binary, err := Binary()
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%v; %s=1 requires it", err, EnvRequire)
		}
		t.Skip(err)
	}
	a := &Agent{t: t, binary: binary, dir: t.TempDir()}
	a.logPath = filepath.Join(a.dir, "consul.log")
	t.Cleanup(func() {
		a.Kill()
		if t.Failed() {
			a.printLog()
		}
	})
	for attempt := 1; ; attempt++ {
		a.ports, err = freePorts()
		if err == nil {
			err = a.start()
		}
		if err == nil {
			return a
		}
		if attempt == startAttempts {
			t.Fatalf("consultest: start consul agent: %v", err)
		}
	}
}

// Addr returns the host:port of the agent's HTTP API.
func (a *Agent) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.ports.http))
}

// Client returns a Consul API client for the agent, for tests that poke
// at Consul directly (destroy a session, read a key).
func (a *Agent) Client() *api.Client {
	a.t.Helper()
	// Without keep-alive, so that no idle connection outlives the test's
	// use of the client.
	cfg := api.DefaultNonPooledConfig()
	cfg.Address = a.Addr()
	client, err := api.NewClient(cfg)
	if err != nil {
		a.t.Fatalf("consultest: client: %v", err)
	}
	return client
}

// LogPath returns the file the agent logs to.
func (a *Agent) LogPath() string { return a.logPath }

// Stop stops the agent gracefully (it leaves, then exits), killing it if
// it takes too long. A dev agent loses all its state. Stopping a stopped
// agent does nothing.
func (a *Agent) Stop() {
	a.t.Helper()
	if a.exited == nil {
		return
	}
	a.wake()
	deadline := time.After(stopTimeout)
	// The agent drops a signal that arrives while it switches from its
	// startup handler to its main loop, so interrupt it again until it
	// exits; a second interrupt during its graceful shutdown just makes it
	// exit at once.
	for {
		if err := a.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			a.t.Errorf("consultest: interrupt consul agent: %v", err)
		}
		select {
		case <-a.exited:
			a.Kill()
			return
		case <-time.After(interruptInterval):
		case <-deadline:
			a.t.Errorf("consultest: consul agent did not stop within %v; killing it", stopTimeout)
			a.Kill()
			return
		}
	}
}

// Kill kills the agent without letting it leave. Killing a stopped agent
// does nothing.
func (a *Agent) Kill() {
	if a.exited == nil {
		return
	}
	if err := a.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		a.t.Errorf("consultest: kill consul agent: %v", err)
	}
	<-a.exited
	a.exited = nil
	a.cmd = nil
}

// Restart stops the agent if it runs and starts a new one on the same
// ports, waiting until it is ready. Being a dev agent it comes back empty:
// no KV, sessions or services, exactly like an agent that lost its state.
func (a *Agent) Restart() {
	a.t.Helper()
	a.Stop()
	var err error
	// The old process's ports may linger for a moment after it exits.
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if err = a.start(); err == nil {
			return
		}
		time.Sleep(time.Second)
	}
	a.t.Fatalf("consultest: restart consul agent: %v", err)
}

// start runs the agent on a.ports and waits until it is ready.
func (a *Agent) start() error {
	logFile, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child keeps its own descriptor
	fmt.Fprintf(logFile, "==> consultest: starting %s on ports %+v\n", a.binary, a.ports)
	cmd := exec.Command(a.binary, "agent", "-dev",
		"-node="+nodeName,
		"-bind=127.0.0.1",
		"-client=127.0.0.1",
		"-advertise=127.0.0.1",
		"-http-port="+strconv.Itoa(a.ports.http),
		"-serf-lan-port="+strconv.Itoa(a.ports.serfLAN),
		"-serf-wan-port="+strconv.Itoa(a.ports.serfWAN),
		"-server-port="+strconv.Itoa(a.ports.server),
		"-dns-port=-1",
		"-grpc-port=-1",
		"-grpc-tls-port=-1",
		"-https-port=-1",
		"-log-level=info",
	)
	cmd.Dir = a.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", a.binary, err)
	}
	exited := make(chan struct{})
	go func() {
		// Owned by the Agent: Kill waits for it.
		_ = cmd.Wait()
		close(exited)
	}()
	a.cmd, a.exited = cmd, exited
	if err := a.waitReady(); err != nil {
		a.Kill()
		return fmt.Errorf("%w (log: %s)", err, a.logPath)
	}
	return nil
}

// waitReady polls until the agent has a leader and its node is registered
// with a passing serfHealth check (sessions need that), or it exits.
func (a *Agent) waitReady() error {
	// No keep-alive: no idle connections (and their goroutines) outlive
	// the poll, so tests can count goroutines across Restart.
	httpClient := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	client, err := api.NewClient(&api.Config{Address: a.Addr(), HttpClient: httpClient})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(readyTimeout)
	lastErr := errors.New("not polled yet")
	for time.Now().Before(deadline) {
		select {
		case <-a.exited:
			return fmt.Errorf("consul agent exited before it was ready: %w", lastErr)
		case <-time.After(50 * time.Millisecond):
		}
		lastErr = ready(client)
		if lastErr == nil {
			return nil
		}
	}
	return fmt.Errorf("consul agent not ready after %v: %w", readyTimeout, lastErr)
}

func ready(client *api.Client) error {
	leader, err := client.Status().Leader()
	if err != nil {
		return err
	}
	if leader == "" {
		return errors.New("no leader yet")
	}
	checks, _, err := client.Health().Node(nodeName, nil)
	if err != nil {
		return err
	}
	for _, c := range checks {
		if c.CheckID == "serfHealth" && c.Status == api.HealthPassing {
			return nil
		}
	}
	return errors.New("node not registered yet")
}

// printLog logs the tail of the agent log.
func (a *Agent) printLog() {
	f, err := os.Open(a.logPath)
	if err != nil {
		a.t.Logf("consultest: agent log: %v", err)
		return
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > logTailBytes {
		if _, err := f.Seek(-logTailBytes, io.SeekEnd); err != nil {
			a.t.Logf("consultest: agent log: %v", err)
			return
		}
	}
	tail, err := io.ReadAll(f)
	if err != nil {
		a.t.Logf("consultest: agent log: %v", err)
		return
	}
	a.t.Logf("consultest: tail of consul agent log %s:\n%s", a.logPath, tail)
}

// freePorts reserves four ports free for both TCP and UDP on loopback
// (Serf uses both); see testport.
func freePorts() (ports, error) {
	var picked [4]int
	for i := range picked {
		p, err := testport.Take(testport.TCPAndUDP)
		if err != nil {
			return ports{}, err
		}
		picked[i] = p
	}
	return ports{http: picked[0], serfLAN: picked[1], serfWAN: picked[2], server: picked[3]}, nil
}
