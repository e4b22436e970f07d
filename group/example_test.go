package group_test

import (
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

// A single consumer joins, syncs and becomes Stable; the caller plays the
// group actor's part, carrying out the effects.
func Example() {
	cfg := group.DefaultConfig()
	cfg.InitialRebalanceDelay = 0
	cfg.NewMemberID = func(clientID string) string { return clientID + "-1" }
	g, err := group.New("orders-app", cfg)
	if err != nil {
		panic(err)
	}
	now := time.Unix(1700000000, 0)
	join := group.JoinRequest{
		RequestID:      1,
		ClientID:       "consumer",
		SessionTimeout: 10 * time.Second,
		ProtocolType:   "consumer",
		Protocols:      []group.Protocol{{Name: "range", Metadata: []byte("subscription")}},
	}
	fx := g.Join(now, join)
	fmt.Println("join:", messages.CodeFor(fx.Joins[0].Err), fx.Joins[0].MemberID)

	join.RequestID, join.MemberID = 2, fx.Joins[0].MemberID
	fx = g.Join(now, join)
	r := fx.Joins[0]
	fmt.Println("join:", messages.CodeFor(r.Err), "generation", r.Generation, "leader", r.LeaderID, "members", len(r.Members))

	fx = g.Sync(now, group.SyncRequest{RequestID: 3, MemberID: r.MemberID, Generation: r.Generation,
		Assignments: map[string][]byte{r.MemberID: []byte("partitions")}})
	fmt.Println("persist generation", fx.Persist.Generation, "then", g.State())
	fx = g.PersistDone(now, fx.Persist.Generation, nil)
	fmt.Printf("sync: %s %q, %s, next tick in %v\n", messages.CodeFor(fx.Syncs[0].Err), fx.Syncs[0].Assignment, g.State(), fx.Deadline.Sub(now))
	// Output:
	// join: MEMBER_ID_REQUIRED consumer-1
	// join: NONE generation 1 leader consumer-1 members 1
	// persist generation 1 then CompletingRebalance
	// sync: NONE "partitions", Stable, next tick in 10s
}
