package scale

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
	"github.com/sluice-mq/sluice/messages"
)

const (
	// partitions is the topic the node must host (issue: 10,000 per node).
	partitions = 10000
	// requestTimeout bounds every metadata answer of the poller.
	requestTimeout = 10 * time.Second
	// waitTimeout bounds each wait for the node to converge.
	waitTimeout = 90 * time.Second
)

// TestScaleTenThousandPartitionsOneNode creates 10,000 partitions on one
// node while a poller asks for metadata, waits until every partition is
// led, produces and consumes on a few, restarts the node and waits again,
// and has a 100,000-partition create refused.
func TestScaleTenThousandPartitionsOneNode(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl, err := client.New(context.Background(), client.Config{
		Seeds:          []string{c.Addr(0)},
		RequestTimeout: requestTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Not closed: see the integration package (protoactor's remote
	// shutdown races); the process exits after the tests.

	t.Logf("idle node: %s", usage(t, c))
	poll := startPoller(t, cl)
	start := time.Now()
	if _, err := cl.CreateTopic(context.Background(), "big", partitions, 1, nil); err != nil {
		t.Fatalf("create 10,000 partitions: %v", err)
	}
	created := time.Since(start)
	waitAllLed(t, cl, "big")
	led := time.Since(start)
	c.WaitHealthy(0)
	ready := time.Since(start)
	if answers, failures := poll.stop(); len(failures) > 0 {
		t.Fatalf("metadata failed %d of %d times during creation; first: %v", len(failures), answers+len(failures), failures[0])
	} else if answers == 0 {
		t.Fatal("the poller got no answer")
	} else {
		t.Logf("metadata answered %d times during creation", answers)
	}
	t.Logf("create %v, every partition led %v, /healthz ready %v; %s", created, led, ready, usage(t, c))

	produceAndConsume(t, cl, "big", []int32{0, 4321, partitions - 1})

	start = time.Now()
	if err := c.Stop(0); err != nil { // SIGTERM
		t.Fatalf("stop: %v", err)
	}
	stopped := time.Since(start)
	start = time.Now()
	c.StartNode(0) // until /healthz is ready: every replica open and in its role
	restarted := time.Since(start)
	waitAllLed(t, cl, "big")
	t.Logf("SIGTERM to exit %v; start to /healthz ready %v, every partition led %v; %s", stopped, restarted, time.Since(start), usage(t, c))
	produceAndConsume(t, cl, "big", []int32{1, partitions - 2})

	_, err = cl.CreateTopic(context.Background(), "huge", 100000, 1, nil)
	if !errors.Is(err, messages.ErrInvalidPartitions) || !strings.Contains(err.Error(), "limits.max_partitions_per_topic") {
		t.Fatalf("100,000-partition create: %v, want INVALID_PARTITIONS naming the limit", err)
	}
	if dirs, _ := filepath.Glob(filepath.Join(c.DataDir(0), "huge-*")); len(dirs) > 0 {
		t.Fatalf("the refused create left %d directories, e.g. %s", len(dirs), dirs[0])
	}
	md, err := cl.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range md.Topics {
		if ti.Name == "huge" {
			t.Fatal("the refused topic is in the metadata")
		}
	}
}

// poller asks for metadata in a loop until stopped; every answer must
// come within requestTimeout.
type poller struct {
	quit     chan struct{}
	once     sync.Once
	done     chan struct{}
	answers  int // written by the poller goroutine until done is closed
	failures []error
}

func startPoller(t *testing.T, cl *client.Client) *poller {
	t.Helper()
	p := &poller{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.quit:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
			_, err := cl.Metadata(ctx)
			cancel()
			if err != nil {
				p.failures = append(p.failures, err)
			} else {
				p.answers++
			}
			select {
			case <-p.quit:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

// stop ends the poller and returns its counts.
func (p *poller) stop() (int, []error) {
	p.once.Do(func() { close(p.quit) })
	<-p.done
	return p.answers, p.failures
}

// waitAllLed waits until the metadata names a leader for every partition
// of topic.
func waitAllLed(t *testing.T, cl *client.Client, topic string) {
	t.Helper()
	clustertest.Await(t, waitTimeout, "every partition of "+topic+" led", func() error { return allLed(cl, topic) })
}

func allLed(cl *client.Client, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	md, err := cl.Metadata(ctx)
	if err != nil {
		return err
	}
	for _, ti := range md.Topics {
		if ti.Name != topic {
			continue
		}
		if len(ti.Partitions) != partitions {
			return fmt.Errorf("%d partitions in the metadata", len(ti.Partitions))
		}
		offline := 0
		for _, p := range ti.Partitions {
			if p.Leader < 0 {
				offline++
			}
		}
		if offline > 0 {
			return fmt.Errorf("%d partitions without a leader", offline)
		}
		return nil
	}
	return fmt.Errorf("topic %s not in the metadata", topic)
}

// produceAndConsume writes one record to each partition and reads it back.
func produceAndConsume(t *testing.T, cl *client.Client, topic string, parts []int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	p, err := client.NewProducer(cl, client.ProducerConfig{Acks: client.AcksAll})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close(context.Background()) }()
	want := make(map[int32]string)
	for _, part := range parts {
		value := "record-" + strconv.Itoa(int(part)) + "-" + strconv.FormatInt(time.Now().UnixNano(), 10)
		if _, _, err := p.Produce(ctx, &client.Record{Topic: topic, Partition: part, Value: []byte(value)}); err != nil {
			t.Fatalf("produce to %s/%d: %v", topic, part, err)
		}
		want[part] = value
	}
	for part, value := range want {
		got, err := workload.ReadPartition(ctx, cl, topic, part)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, v := range got {
			found = found || v == value
		}
		if !found {
			t.Fatalf("%s/%d: %q not read back (%d records)", topic, part, value, len(got))
		}
	}
}

// usage describes the node's resident memory and open files.
func usage(t *testing.T, c *clustertest.Cluster) string {
	t.Helper()
	pid := c.Node(0).PID()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "usage unknown: " + err.Error()
	}
	rss := "?"
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss = strings.TrimSpace(v)
		}
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return fmt.Sprintf("RSS %s, %d open files", rss, len(fds))
}
