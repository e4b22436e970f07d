package consul_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/consul"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
)

func TestMembershipJoinLeave(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	ctx := context.Background()
	m1 := join(t, cfg, 1)
	m2 := join(t, cfg, 2)
	waitFor(t, waitTimeout, membersAre(m1, 1, 2))
	waitFor(t, waitTimeout, registered(m2))

	members, _, err := m2.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if members[1] != member(2) {
		t.Fatalf("member 2 = %+v, want %+v", members[1], member(2))
	}

	// The service carries the member in its meta.
	services, err := agent.Client().Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	svc := services[cfg.ServiceName+"-2"]
	if svc == nil || svc.Meta["node_id"] != "2" || svc.Meta["address"] != member(2).Address ||
		svc.Meta["http_address"] != member(2).HTTPAddress || svc.Port != int(17002) {
		t.Fatalf("service of node 2 = %+v", svc)
	}

	if err := m2.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	waitFor(t, waitTimeout, membersAre(m1, 1))
	services, err = agent.Client().Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	if services[cfg.ServiceName+"-2"] != nil {
		t.Fatalf("service of node 2 still registered after Leave")
	}

	// A left membership is closed for good.
	if err := m2.Leave(ctx); !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("second Leave: %v, want ErrClosed", err)
	}
	if err := m2.Join(ctx, member(2)); !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("Join after Leave: %v, want ErrClosed", err)
	}
	if _, err := m2.Campaign(ctx); !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("Campaign after Leave: %v, want ErrClosed", err)
	}
	if err := m1.Join(ctx, member(1)); !errors.Is(err, consul.ErrAlreadyJoined) {
		t.Fatalf("second Join: %v, want ErrAlreadyJoined", err)
	}
}

func TestMembershipNotJoined(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	m, err := consul.NewMembership(testConfig(t, agent))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	if _, err := m.Campaign(ctx); !errors.Is(err, consul.ErrNotJoined) {
		t.Fatalf("Campaign before Join: %v, want ErrNotJoined", err)
	}
	if err := m.Join(ctx, cluster.Member{NodeID: -1, Address: "x:1"}); !errors.Is(err, consul.ErrInvalidMember) {
		t.Fatalf("Join with node id -1: %v, want ErrInvalidMember", err)
	}
	// Reading needs no Join.
	if members, _, err := m.Members(ctx); err != nil || len(members) != 0 {
		t.Fatalf("Members = %v, %v", members, err)
	}
	if id, err := m.Controller(ctx); err != nil || id != -1 {
		t.Fatalf("Controller = %d, %v; want -1", id, err)
	}
}

func TestMembershipWatchMembers(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	m1 := join(t, cfg, 1)
	waitFor(t, waitTimeout, membersAre(m1, 1))
	ctx := context.Background()
	_, index, err := m1.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		members []cluster.Member
		err     error
	}
	done := make(chan result, 1)
	go func() {
		for {
			members, next, err := m1.WatchMembers(ctx, index)
			if err != nil || next != index {
				done <- result{members, err}
				return
			}
		}
	}()
	join(t, cfg, 2)
	r := <-done
	if r.err != nil || fmt.Sprint(nodeIDs(r.members)) != "[1 2]" {
		t.Fatalf("WatchMembers = %v, %v; want [1 2]", nodeIDs(r.members), r.err)
	}
}

// TestMembershipExpiry stops refreshing one node, as if its process hung
// or died: its session ends with its check and its node key goes away.
func TestMembershipExpiry(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	m1 := join(t, cfg, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	joinCtx(t, ctx, cfg, 2)
	waitFor(t, waitTimeout, membersAre(m1, 1, 2))
	stop()
	waitFor(t, waitTimeout, membersAre(m1, 1))
}

// TestMembershipRejoinAfterCrash starts a node again while the session of
// its previous process is still alive: the new process keeps the shared
// check passing, so it must end that session itself to get its key back.
func TestMembershipRejoinAfterCrash(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	ctx, crash := context.WithCancel(context.Background())
	old := joinCtx(t, ctx, cfg, 1)
	waitFor(t, waitTimeout, registered(old))
	crash()
	oldSession := nodeKeySession(t, agent, cfg, 1)

	m := join(t, cfg, 1)
	waitFor(t, waitTimeout, registered(m))
	waitFor(t, waitTimeout, membersAre(m, 1))
	if s := nodeKeySession(t, agent, cfg, 1); s == oldSession {
		t.Fatalf("node key still held by the old session %s", s)
	}
}

// TestMembershipSessionDestroyed ends a node's session behind its back:
// the node key goes, the controller lock is lost, and the node repairs its
// registration with a new session.
func TestMembershipSessionDestroyed(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	m1 := join(t, cfg, 1)
	m2 := join(t, cfg, 2)
	waitFor(t, waitTimeout, membersAre(m1, 1, 2))
	ctx := ctxTimeout(t, waitTimeout)

	lost1, err := m1.Campaign(ctx)
	if err != nil {
		t.Fatalf("Campaign 1: %v", err)
	}
	won2 := campaign(m2)

	old := nodeKeySession(t, agent, cfg, 1)
	if _, err := agent.Client().Session().Destroy(old, nil); err != nil {
		t.Fatal(err)
	}
	<-lost1
	r := <-won2
	if r.err != nil {
		t.Fatalf("Campaign 2: %v", r.err)
	}
	waitFor(t, waitTimeout, controllerIs(m1, 2))
	waitFor(t, waitTimeout, func() error {
		if s := nodeKeySession(t, agent, cfg, 1); s == "" || s == old {
			return fmt.Errorf("node key 1 held by %q", s)
		}
		return nil
	})
	waitFor(t, waitTimeout, membersAre(m2, 1, 2))
	waitFor(t, waitTimeout, registered(m1))
}

func TestMembershipCampaign(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	m1 := join(t, cfg, 1)
	m2 := join(t, cfg, 2)
	waitFor(t, waitTimeout, registered(m1))
	waitFor(t, waitTimeout, registered(m2))

	// Both campaign; exactly one wins, and it is the controller.
	won := map[int32]<-chan campaignResult{1: campaign(m1), 2: campaign(m2)}
	var winner, loser int32
	var lost <-chan struct{}
	select {
	case r := <-won[1]:
		winner, loser, lost = 1, 2, r.lost
		if r.err != nil {
			t.Fatalf("Campaign 1: %v", r.err)
		}
	case r := <-won[2]:
		winner, loser, lost = 2, 1, r.lost
		if r.err != nil {
			t.Fatalf("Campaign 2: %v", r.err)
		}
	}
	ms := map[int32]*consul.Membership{1: m1, 2: m2}
	if id, err := ms[loser].Controller(context.Background()); err != nil || id != winner {
		t.Fatalf("Controller = %d, %v; want %d", id, err, winner)
	}
	select {
	case r := <-won[loser]:
		t.Fatalf("both won: node %d's Campaign returned %v", loser, r.err)
	default:
	}

	// The winner leaves: its lost channel closes, the other takes over.
	if err := ms[winner].Leave(context.Background()); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	<-lost
	r := <-won[loser]
	if r.err != nil {
		t.Fatalf("Campaign %d: %v", loser, r.err)
	}
	if id, err := ms[loser].Controller(context.Background()); err != nil || id != loser {
		t.Fatalf("Controller = %d, %v; want %d", id, err, loser)
	}
	// An undisturbed lock stays held across several TTLs of confirmations.
	time.Sleep(2 * cfg.CheckTTL)
	select {
	case <-r.lost:
		t.Fatalf("new controller lost the lock")
	default:
	}

	// Leave closes the holder's lost channel and frees the lock.
	if err := ms[loser].Leave(context.Background()); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	<-r.lost
	m3 := join(t, cfg, 3)
	if id, err := m3.Controller(context.Background()); err != nil || id != -1 {
		t.Fatalf("Controller with nobody campaigning = %d, %v; want -1", id, err)
	}
}

func TestMembershipCampaignContext(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	m1 := join(t, cfg, 1)
	m2 := join(t, cfg, 2)
	waitFor(t, waitTimeout, registered(m2))
	if _, err := m1.Campaign(ctxTimeout(t, waitTimeout)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := campaignCtx(ctx, m2)
	cancel()
	if res := <-r; !errors.Is(res.err, context.Canceled) {
		t.Fatalf("cancelled Campaign: %v, want context.Canceled", res.err)
	}

	// Leave ends a waiting Campaign too.
	r = campaign(m2)
	if err := m2.Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := <-r; !errors.Is(res.err, cluster.ErrClosed) {
		t.Fatalf("Campaign ended by Leave: %v, want ErrClosed", res.err)
	}
}

// TestMembershipAgentRestart restarts the agent, which comes back without
// any state: both nodes re-register by themselves, the controller's lock
// is lost and can be won again.
func TestMembershipAgentRestart(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	var log syncBuffer
	cfg1 := cfg
	cfg1.Logger = slog.New(slog.NewTextHandler(&log, nil))
	m1 := join(t, cfg1, 1)
	m2 := join(t, cfg, 2)
	waitFor(t, waitTimeout, membersAre(m1, 1, 2))
	lost, err := m1.Campaign(ctxTimeout(t, waitTimeout))
	if err != nil {
		t.Fatal(err)
	}

	agent.Restart()
	<-lost
	waitFor(t, waitTimeout, membersAre(m1, 1, 2))
	waitFor(t, waitTimeout, registered(m1))
	waitFor(t, waitTimeout, registered(m2))
	services, err := agent.Client().Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	if services[cfg.ServiceName+"-1"] == nil || services[cfg.ServiceName+"-2"] == nil {
		t.Fatalf("services after restart: %v", services)
	}
	if _, err := m2.Campaign(ctxTimeout(t, waitTimeout)); err != nil {
		t.Fatalf("Campaign after restart: %v", err)
	}
	waitFor(t, waitTimeout, controllerIs(m1, 2))

	// The repair went through the logger: registered twice, two sessions.
	text := log.String()
	if n := strings.Count(text, "service registered"); n < 2 {
		t.Errorf("%d service registrations logged, want 2 or more:\n%s", n, text)
	}
	if n := strings.Count(text, "session created"); n < 2 {
		t.Errorf("%d sessions logged, want 2 or more:\n%s", n, text)
	}
}

// TestMembershipConsulDown stops Consul: calls fail fast with
// ErrUnavailable, Status says so, and everything recovers when Consul is
// back. Leave still ends every goroutine.
func TestMembershipConsulDown(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	baseline := runtime.NumGoroutine()
	m1, err := consul.NewMembership(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m1.Close() })
	ctx := context.Background()
	if err := m1.Join(ctx, member(1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, waitTimeout, registered(m1))
	lost, err := m1.Campaign(ctxTimeout(t, waitTimeout))
	if err != nil {
		t.Fatal(err)
	}

	agent.Stop()
	if _, _, err := m1.Members(ctx); !errors.Is(err, cluster.ErrUnavailable) {
		t.Fatalf("Members with Consul down: %v, want ErrUnavailable", err)
	}
	if _, err := m1.Controller(ctx); !errors.Is(err, cluster.ErrUnavailable) {
		t.Fatalf("Controller with Consul down: %v, want ErrUnavailable", err)
	}
	waitFor(t, waitTimeout, func() error {
		st := m1.Status()
		if st.Registered || !errors.Is(st.LastError, cluster.ErrUnavailable) {
			return fmt.Errorf("status %+v, want unregistered with ErrUnavailable", st)
		}
		return nil
	})
	// Ownership of the lock cannot be proven while Consul is away.
	<-lost

	agent.Restart()
	waitFor(t, waitTimeout, registered(m1))
	waitFor(t, waitTimeout, membersAre(m1, 1))

	if err := m1.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	waitFor(t, waitTimeout, func() error {
		if n := runtime.NumGoroutine(); n > baseline {
			return fmt.Errorf("%d goroutines, %d before the membership", n, baseline)
		}
		return nil
	})
}

// TestMembershipLeaveWhileDown leaves while Consul is down: Leave reports
// the failure but still stops everything.
func TestMembershipLeaveWhileDown(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	m, err := consul.NewMembership(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.Join(context.Background(), member(1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, waitTimeout, registered(m))
	lost, err := m.Campaign(ctxTimeout(t, waitTimeout))
	if err != nil {
		t.Fatal(err)
	}
	agent.Stop()
	if err := m.Leave(context.Background()); !errors.Is(err, cluster.ErrUnavailable) {
		t.Fatalf("Leave with Consul down: %v, want ErrUnavailable", err)
	}
	<-lost
}

type campaignResult struct {
	lost <-chan struct{}
	err  error
}

func campaign(m *consul.Membership) <-chan campaignResult {
	return campaignCtx(context.Background(), m)
}

// campaignCtx runs m.Campaign in a goroutine; the test ends it through ctx
// or through the membership's Leave on cleanup.
func campaignCtx(ctx context.Context, m *consul.Membership) <-chan campaignResult {
	done := make(chan campaignResult, 1)
	go func() {
		lost, err := m.Campaign(ctx)
		done <- campaignResult{lost, err}
	}()
	return done
}

func controllerIs(m *consul.Membership, want int32) func() error {
	return func() error {
		id, err := m.Controller(context.Background())
		if err != nil {
			return err
		}
		if id != want {
			return fmt.Errorf("controller %d, want %d", id, want)
		}
		return nil
	}
}

// nodeKeySession returns the session holding node id's key, "" if none.
func nodeKeySession(t *testing.T, agent *consultest.Agent, cfg consul.Config, id int32) string {
	t.Helper()
	pair, _, err := agent.Client().KV().Get(fmt.Sprintf("%snodes/%d", cfg.Prefix, id), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pair == nil {
		return ""
	}
	return pair.Session
}

// TestMembershipConsulPaused freezes the agent for longer than the check
// TTL: the controller gives up the lock it can no longer prove it holds,
// and when the agent wakes up (and expires the check, ending the session)
// the node repairs its registration.
func TestMembershipConsulPaused(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	m := join(t, cfg, 1)
	waitFor(t, waitTimeout, registered(m))
	lost, err := m.Campaign(ctxTimeout(t, waitTimeout))
	if err != nil {
		t.Fatal(err)
	}
	agent.Pause()
	<-lost
	waitFor(t, waitTimeout, func() error {
		if st := m.Status(); st.Registered || !errors.Is(st.LastError, cluster.ErrUnavailable) {
			return fmt.Errorf("status %+v, want unregistered with ErrUnavailable", st)
		}
		return nil
	})
	agent.Resume()
	waitFor(t, waitTimeout, registered(m))
	waitFor(t, waitTimeout, membersAre(m, 1))
	if _, err := m.Campaign(ctxTimeout(t, waitTimeout)); err != nil {
		t.Fatalf("Campaign after resume: %v", err)
	}
}
