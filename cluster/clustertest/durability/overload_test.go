package durability

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
)

// TestOverloadBoundedMemory floods one node with flush.policy=always
// produce requests from many concurrent producers, several requests in
// flight each, while thousands of long-poll fetches wait on its
// partitions: the node answers /healthz throughout, holds no more parked
// fetches than its cap, turns excess produces away with the retriable
// REQUEST_TIMED_OUT, and its peak RSS (VmHWM, logged) stays bounded.
func TestOverloadBoundedMemory(t *testing.T) {
	const (
		topic      = "flood"
		partitions = 4
		parkCap    = 1000
		producers  = 32
		inFlight   = 4
		load       = 4 * time.Second
	)
	// The drain at shutdown gives up well within the harness's stop
	// timeout: the backlog of fsyncs is not drained on a loaded machine.
	c := startNode(t, fmt.Sprintf(`
max_request_bytes: 1048576
shutdown_timeout: 10s
log:
  max_message_bytes: 1048576
  flush_policy: always
limits:
  fetch_max_wait: 30s
  max_parked_fetches: %d
  max_pending_produce_bytes: 4194304
`, parkCap))
	cl := clustertest.NewClient(t)
	createTopic(t, c, cl, topic, partitions, nil)
	pid := c.Node(0).PID()
	startKB := statusKB(t, pid, "VmRSS")

	// Long polls that never get their min_bytes: parkCap wait on each
	// partition; more are answered at once, empty.
	const extra = 100
	fetch := func(p int32, timeout time.Duration) actor.Future {
		return cl.System.Root.RequestFuture(c.ReplicaPID(0, topic, p), &messages.FetchRequest{
			Topic: topic, Partition: p, MinBytes: 1 << 30, MaxBytes: 1 << 20, MaxWaitMs: 60_000, LeaderEpoch: -1,
		}, timeout)
	}
	for p := range int32(partitions) {
		for range parkCap {
			fetch(p, 90*time.Second) // answered when the node stops
		}
	}
	waitFor(t, "every partition's parked fetches at the cap", func() error {
		if n := metric(t, c, "sluice_parked_fetches"); n != partitions*parkCap {
			return fmt.Errorf("%v parked", n)
		}
		return nil
	})
	for p := range int32(partitions) {
		for range extra {
			res, err := fetch(p, 10*time.Second).Result()
			if err != nil {
				t.Fatalf("fetch beyond the cap: %v", err)
			}
			if r := res.(*messages.FetchResponse); r.ErrorCode != messages.ErrorCode_NONE || len(r.Records) != 0 {
				t.Fatalf("fetch beyond the cap: %v, %d bytes", r.ErrorCode, len(r.Records))
			}
		}
	}

	b := records(t, 16, 16<<10) // ~256 KiB per request
	var ok, refused, other atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := c.ReplicaPID(0, topic, int32(i%partitions))
			var pending []actor.Future
			for {
				select {
				case <-stop:
					for _, f := range pending {
						_, _ = f.Result()
					}
					return
				default:
				}
				pending = append(pending, cl.System.Root.RequestFuture(target, &messages.ProduceRequest{
					Topic: topic, Partition: int32(i % partitions), Acks: 1, Records: b, LeaderEpoch: -1,
				}, 30*time.Second))
				if len(pending) < inFlight {
					continue
				}
				res, err := pending[0].Result()
				pending = pending[1:]
				switch r, _ := res.(*messages.ProduceResponse); {
				case err != nil || r == nil:
					other.Add(1)
				case r.ErrorCode == messages.ErrorCode_NONE:
					ok.Add(1)
				case r.ErrorCode == messages.ErrorCode_REQUEST_TIMED_OUT:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}

	// /healthz answers within a second throughout the load.
	httpClient := &http.Client{Timeout: 2 * time.Second}
	var checks int
	var slowest time.Duration
	end := time.Now().Add(load)
	for time.Now().Before(end) {
		start := time.Now()
		resp, err := httpClient.Get("http://" + c.HTTP(0) + "/healthz")
		if err != nil {
			t.Fatalf("/healthz under load: %v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz under load: %s", resp.Status)
		}
		slowest = max(slowest, time.Since(start))
		checks++
		time.Sleep(50 * time.Millisecond) // sampling period
	}
	parked := metric(t, c, "sluice_parked_fetches")
	hwm := statusKB(t, pid, "VmHWM")
	close(stop)
	wg.Wait()

	t.Logf("%d producers × %d in flight × %d bytes, flush.policy=always, %d parked fetches (+%d answered at once), %s: "+
		"%d produced, %d refused with REQUEST_TIMED_OUT, %d other; /healthz %d checks, slowest %s; RSS at start %d kB, peak VmHWM %d kB",
		producers, inFlight, len(b), int(parked), partitions*extra, load, ok.Load(), refused.Load(), other.Load(),
		checks, slowest, startKB, hwm)
	if parked > partitions*parkCap {
		t.Fatalf("%v parked fetches, cap %d per partition", parked, parkCap)
	}
	if ok.Load() == 0 {
		t.Fatal("nothing was produced")
	}
	if other.Load() > 0 {
		t.Fatalf("%d produces failed otherwise", other.Load())
	}
	// Generous: what is in flight is ~32 MiB; unbounded queues under this
	// load reach gigabytes.
	if hwm > 1<<20 {
		t.Fatalf("peak RSS %d kB", hwm)
	}
}
