package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/txnstate"
)

// The exactly-once ETL: the test binary run again with etlBrokersEnv set
// reads etlIn as a read_committed member of etlGroup and writes one
// transformed record per input to etlOut in transactions of etlBatch
// records that also commit its consumed offsets.
const (
	etlBrokersEnv = "SLUICE_TEST_ETL_BROKERS"
	// etlDirEnv names a directory for the test to hold the ETL in a
	// transaction: while the file "hold" exists there, the ETL stops
	// before each commit, with the transaction's records written, and
	// creates "holding".
	etlDirEnv = "SLUICE_TEST_ETL_DIR"
	etlIn     = "etl-in"
	etlOut    = "etl-out"
	etlGroup  = "etl"
	etlTxnID  = "etl-1"
	etlBatch  = 100
	etlInputs = 3000
	etlKeys   = 10
	etlPause  = 100 * time.Millisecond
)

// runETL is the ETL program. It runs until killed; it exits 1 on an error
// it cannot go on after (the test starts it again).
func runETL(brokers string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := etl(strings.Split(brokers, ","), log); err != nil {
		log.Error("etl stopped", "error", err)
		return 1
	}
	return 0
}

func etl(seeds []string, log *slog.Logger) error {
	ctx := context.Background()
	cl, err := client.New(ctx, client.Config{Seeds: seeds, RequestTimeout: requestTimeout, MaxRetries: 30, Logger: log})
	if err != nil {
		return err
	}
	p, err := client.NewProducer(cl, client.ProducerConfig{TransactionalID: etlTxnID, TransactionTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	// Fence the previous instance (its open transaction is aborted)
	// before reading the committed offsets.
	initCtx, cancel := context.WithTimeout(ctx, waitTimeout)
	err = p.InitTransactions(initCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("init transactions: %w", err)
	}
	g, err := client.NewGroupConsumer(cl, client.GroupConfig{
		GroupID: etlGroup, Topics: []string{etlIn}, InstanceID: "etl-0", SessionTimeout: 6 * time.Second,
		AutoOffsetReset: client.ResetEarliest, Consumer: client.ConsumerConfig{IsolationLevel: client.ReadCommitted},
	})
	if err != nil {
		return err
	}
	log.Info("etl started")
	positions := map[client.TopicPartition]int64{}
	open, inTxn := 0, false
	commit := func() error {
		// Paced with the transaction's records written and not yet
		// committed, so that the kills below land mid-run and leave
		// records of aborted transactions behind.
		time.Sleep(etlPause)
		c, cancel := context.WithTimeout(ctx, waitTimeout)
		defer cancel()
		if dir := os.Getenv(etlDirEnv); dir != "" {
			if _, err := os.Stat(filepath.Join(dir, "hold")); err == nil {
				if err := p.Flush(c); err != nil {
					return fmt.Errorf("flush: %w", err)
				}
				if err := os.WriteFile(filepath.Join(dir, "holding"), nil, 0o644); err != nil {
					return err
				}
				log.Info("holding before the commit", "records", open)
				for {
					if _, err := os.Stat(filepath.Join(dir, "hold")); err != nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		if err := p.SendOffsetsToTransaction(c, positions, g.GroupMetadata()); err != nil {
			return fmt.Errorf("send offsets: %w", err)
		}
		if err := p.CommitTransaction(c); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		log.Info("committed", "records", open, "positions", fmt.Sprint(positions))
		open, inTxn = 0, false
		return nil
	}
	for {
		if !inTxn {
			if err := p.BeginTransaction(); err != nil {
				return err
			}
			inTxn = true
		}
		pollCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		recs, err := g.Poll(pollCtx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("poll: %w", err)
		}
		if err != nil {
			log.Debug("poll timed out", "assignment", fmt.Sprint(g.Assignment()))
		}
		for _, r := range recs {
			if !inTxn {
				if err := p.BeginTransaction(); err != nil {
					return err
				}
				inTxn = true
			}
			p.ProduceAsync(ctx, &client.Record{Topic: etlOut, Partition: client.AnyPartition, Key: r.Key,
				Value: fmt.Appendf(nil, "%s:%d:%d:%s", r.Key, r.Partition, r.Offset, r.Value)}, nil)
			positions[client.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Offset + 1
			open++
			if open >= etlBatch {
				if err := commit(); err != nil {
					return err
				}
			}
		}
		if open > 0 && len(recs) == 0 {
			if err := commit(); err != nil {
				return err
			}
		}
	}
}

// etlProcess is one run of the ETL program.
type etlProcess struct {
	cmd *exec.Cmd
	// exited is closed once the process has exited; err is then its
	// status.
	exited chan struct{}
	err    error
}

func startETL(t *testing.T, e *env, logPath, dir string) *etlProcess {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), etlBrokersEnv+"="+strings.Join([]string{e.c.Addr(0), e.c.Addr(1), e.c.Addr(2)}, ","), etlDirEnv+"="+dir)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &etlProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill SIGKILLs the process unless it has exited, and waits for it.
func (p *etlProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// readOut reads every partition of etlOut from the start with level until
// it holds n records or wait passes, and returns the values.
func readOut(t *testing.T, e *env, level client.IsolationLevel, n int, wait time.Duration) []string {
	t.Helper()
	cs, err := client.NewConsumer(e.cl, client.ConsumerConfig{IsolationLevel: level, AutoOffsetReset: client.ResetEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close(context.Background())
	cs.Assign(client.TopicPartition{Topic: etlOut, Partition: 0}, client.TopicPartition{Topic: etlOut, Partition: 1},
		client.TopicPartition{Topic: etlOut, Partition: 2})
	var out []string
	deadline := time.Now().Add(wait)
	for len(out) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		recs, err := cs.Poll(ctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read %s: %v", etlOut, err)
		}
		for _, r := range recs {
			out = append(out, string(r.Value))
		}
	}
	return out
}

// lastLine returns the last line of the file at path that contains s.
func lastLine(path, s string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return lines[i]
		}
	}
	return ""
}

// readPartition reads what etlOut/p returns within a second.
func readPartition(t *testing.T, e *env, p int32, level client.IsolationLevel) []string {
	cs, err := client.NewConsumer(e.cl, client.ConsumerConfig{IsolationLevel: level, AutoOffsetReset: client.ResetEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close(context.Background())
	cs.Assign(client.TopicPartition{Topic: etlOut, Partition: p})
	var out []string
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		recs, _ := cs.Poll(ctx)
		cancel()
		for _, r := range recs {
			out = append(out, string(r.Value))
		}
	}
	return out
}

// TestExactlyOnceETL: an ETL program reads etlIn as a read_committed group
// member and writes a transformed record per input to etlOut, sending its
// offsets to the transaction and committing every 100 records. The ETL
// process is SIGKILLed twice and the node leading its transaction
// coordinator's partition once, mid-run, and each is started again. A
// read_committed consumer of etlOut sees every input exactly once, in
// input order per key; a read_uncommitted one also sees the records of the
// transactions the kills aborted.
func TestExactlyOnceETL(t *testing.T) {
	e := startEnv(t)
	for _, topic := range []string{etlIn, etlOut} {
		if _, err := e.cl.CreateTopic(e.ctx(), topic, 3, 3, map[string]string{"min.insync.replicas": "2"}); err != nil {
			t.Fatal(err)
		}
		e.waitInSync(topic)
	}
	// The input: etlInputs records over etlKeys keys, numbered per key.
	in, err := client.NewProducer(e.cl, client.ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range etlInputs {
		key := fmt.Sprintf("k%d", i%etlKeys)
		in.ProduceAsync(e.ctx(), &client.Record{Topic: etlIn, Partition: client.AnyPartition, Key: []byte(key),
			Value: []byte(strconv.Itoa(i / etlKeys))}, func(_ client.RecordMetadata, err error) {
			if err != nil {
				t.Errorf("input %d: %v", i, err)
			}
		})
	}
	if err := in.Flush(e.ctx()); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	logPath := filepath.Join(dir, "etl.log")
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("etl log:\n%s", b)
			d, err := e.cl.DescribeTransaction(e.ctx(), etlTxnID)
			t.Logf("transaction: %+v %v", d, err)
			for p := range int32(3) {
				info, _ := e.partition(etlOut, p)
				t.Logf("%s/%d: leader %d epoch %d isr %v: read_committed %d, read_uncommitted %d", etlOut, p, info.Leader, info.LeaderEpoch, info.ISR,
					len(readPartition(t, e, p, client.ReadCommitted)), len(readPartition(t, e, p, client.ReadUncommitted)))
			}
		}
	}()
	var mu sync.Mutex
	proc := startETL(t, e, logPath, dir)
	restart := func() {
		mu.Lock()
		defer mu.Unlock()
		proc.kill()
		proc = startETL(t, e, logPath, dir)
	}
	// killMidTransaction holds the ETL before a commit, with the
	// transaction's records written, and SIGKILLs it there.
	// armHold asks the ETL to hold before its next commit; killHeld waits
	// until it holds and kills it there.
	hold, holding := filepath.Join(dir, "hold"), filepath.Join(dir, "holding")
	armHold := func() {
		if err := os.WriteFile(hold, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	killHeld := func() {
		e.waitFor("the ETL held in a transaction", func() error {
			_, err := os.Stat(holding)
			return err
		})
		t.Log("SIGKILL the ETL in a transaction")
		mu.Lock()
		proc.kill()
		mu.Unlock()
		for _, f := range []string{hold, holding} {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		restart()
	}
	killMidTransaction := func() {
		armHold()
		killHeld()
	}
	// progress waits until read_committed output holds at least n records,
	// restarting the ETL if it stopped on its own.
	progress := func(n int) {
		e.waitFor(fmt.Sprintf("%d committed outputs", n), func() error {
			mu.Lock()
			exited := proc.exited
			mu.Unlock()
			select {
			case <-exited:
				t.Logf("etl exited; starting it again (%s)", lastLine(logPath, "etl stopped"))
				restart()
			default:
			}
			if got := len(readOut(t, e, client.ReadCommitted, n, time.Second)); got < n {
				return fmt.Errorf("%d committed outputs", got)
			}
			return nil
		})
	}

	progress(500)
	killMidTransaction()
	progress(1200)
	coordinator := e.leaderOf(messages.TransactionStateTopic, txnstate.StatePartition(etlTxnID, 50)).Leader
	t.Logf("SIGKILL node %d, the transaction coordinator", coordinator)
	e.c.Kill(e.index(coordinator))
	// The ETL's next transaction runs on the new coordinator; it is held
	// there before its commit (armed now: the ETL needs only about a
	// second for the rest of its input) and killed, then the old
	// coordinator's node comes back.
	armHold()
	killHeld()
	e.c.StartNode(e.index(coordinator))
	progress(etlInputs)

	// Exactly once, in input order per key.
	committed := readOut(t, e, client.ReadCommitted, etlInputs+1, 3*time.Second)
	if len(committed) != etlInputs {
		t.Fatalf("read_committed: %d outputs, want %d", len(committed), etlInputs)
	}
	perKey := map[string][]int{}
	for _, v := range committed {
		parts := strings.SplitN(v, ":", 4)
		if len(parts) != 4 {
			t.Fatalf("output %q", v)
		}
		n, err := strconv.Atoi(parts[3])
		if err != nil {
			t.Fatalf("output %q: %v", v, err)
		}
		perKey[parts[0]] = append(perKey[parts[0]], n)
	}
	for k := range etlKeys {
		key := fmt.Sprintf("k%d", k)
		want := make([]int, etlInputs/etlKeys)
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(perKey[key], want) {
			t.Fatalf("key %s: outputs %v, want 0..%d once each in order", key, perKey[key], len(want)-1)
		}
	}
	// The aborted transactions' records are in the log: read_uncommitted
	// differs.
	uncommitted := readOut(t, e, client.ReadUncommitted, etlInputs+1, 3*time.Second)
	if len(uncommitted) < etlInputs+2 {
		t.Fatalf("read_uncommitted: %d outputs, want more than the %d committed (the aborted extras)", len(uncommitted), etlInputs)
	}
	t.Logf("read_committed %d outputs, read_uncommitted %d", len(committed), len(uncommitted))
}
