package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// netns is a network namespace the test made, joined to the root namespace
// by a veth pair: the host side has hostIP, the namespace side nsIP.
type netns struct {
	name, hostIP, nsIP string
}

// ipCmd runs ip(8) with args and fails the test on an error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s (network namespaces need root and ip from iproute2)", strings.Join(args, " "), err, out)
	}
}

// newNetns makes a namespace with a veth pair on a /24 of its own and
// removes both when the test ends.
func newNetns(t *testing.T) netns {
	t.Helper()
	id := os.Getpid() % 10000
	subnet := 20 + os.Getpid()%200
	n := netns{
		name:   fmt.Sprintf("sluice-x%d", id),
		hostIP: fmt.Sprintf("10.231.%d.1", subnet),
		nsIP:   fmt.Sprintf("10.231.%d.2", subnet),
	}
	hostIf, nsIf := fmt.Sprintf("slxh%d", id), fmt.Sprintf("slxn%d", id)
	ipCmd(t, "netns", "add", n.name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n.name).Run() }) // takes the veth pair with it
	ipCmd(t, "link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostIf).Run() })
	ipCmd(t, "link", "set", nsIf, "netns", n.name)
	ipCmd(t, "addr", "add", n.hostIP+"/24", "dev", hostIf)
	ipCmd(t, "link", "set", hostIf, "up")
	ipCmd(t, "netns", "exec", n.name, "ip", "addr", "add", n.nsIP+"/24", "dev", nsIf)
	ipCmd(t, "netns", "exec", n.name, "ip", "link", "set", nsIf, "up")
	ipCmd(t, "netns", "exec", n.name, "ip", "link", "set", "lo", "up")
	return n
}

// A broker on another host (a network namespace reached over a veth
// pair) serves the CLI and the Go client with default client settings:
// the client listens on, and advertises, the address that routes to the
// broker rather than its loopback. Forced onto loopback, the CLI says the
// broker could not answer and names the flag that fixes it.
func TestCrossHostClientDefaults(t *testing.T) {
	ns := newNetns(t)
	dataDir := t.TempDir()
	remote, httpAddr := ns.nsIP+":19760", ns.nsIP+":19761"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log bytes.Buffer
	broker := exec.CommandContext(ctx, "ip", "netns", "exec", ns.name,
		filepath.Join(clustertest.BuildBinaries(t), "sluiced"), "--node-id", "1", "--data-dir", dataDir,
		"--listen", remote, "--http", httpAddr, "--kafka-listen", ns.nsIP+":19762")
	broker.Stdout, broker.Stderr = &log, &log
	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = broker.Wait()
		if t.Failed() {
			t.Logf("broker log:\n%s", log.String())
		}
	}()
	healthy := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := healthy.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker in %s not healthy: %v", ns.name, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}

	sluice := func(stdin string, args ...string) (int, string, string) {
		cmd := exec.CommandContext(testCtx(t), sluiceBinary(t), append([]string{"--brokers", remote}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), stderr.String()
	}
	if code, out, errOut := sluice("", "topic", "create", "remote", "--partitions", "2"); code != 0 {
		t.Fatalf("topic create from the root namespace: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := sluice("a\nb\n", "produce", "remote"); code != 0 {
		t.Fatalf("produce: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := sluice("", "topic", "list", "-o", "json")
	var topics []struct {
		Name string `json:"name"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &topics) != nil || len(topics) != 1 || topics[0].Name != "remote" {
		t.Fatalf("topic list: exit %d\n%s%s", code, out, errOut)
	}

	// The Go client, with nothing but the seed.
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	cl, err := client.New(cctx, client.Config{Seeds: []string{remote}})
	if err != nil {
		t.Fatalf("client with default settings: %v", err)
	}
	defer func() { _ = cl.Close(context.Background()) }()
	if !strings.HasPrefix(cl.Address(), ns.hostIP+":") {
		t.Errorf("client address %s, want one on %s (the interface that routes to the broker)", cl.Address(), ns.hostIP)
	}
	cs, err := client.NewConsumer(cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cs.Close(context.Background()) }()
	cs.Assign(client.TopicPartition{Topic: "remote", Partition: 0}, client.TopicPartition{Topic: "remote", Partition: 1})
	var got []string
	for len(got) < 2 {
		recs, err := cs.Poll(cctx)
		if err != nil {
			t.Fatalf("consume %v so far: %v", got, err)
		}
		for _, r := range recs {
			got = append(got, string(r.Value))
		}
	}
	if strings.Join(got, ",") != "a,b" && strings.Join(got, ",") != "b,a" {
		t.Fatalf("consumed %v, want a and b", got)
	}

	// On loopback the broker cannot answer: the error says so.
	code, _, errOut = sluice("", "--client-listen", "127.0.0.1", "--request-timeout", "2s", "topic", "list")
	if code != 1 || !strings.Contains(errOut, "could not answer to 127.0.0.1:") || !strings.Contains(errOut, "--client-listen") {
		t.Fatalf("loopback client: exit %d, stderr %q; want exit 1 naming the address and --client-listen", code, errOut)
	}
}
