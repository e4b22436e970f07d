package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
)

func testBrowser(t *testing.T, f *fixture) {
	b := startBrowser(t, f.base)
	defer b.checkNoExceptions()
	ctx := testCtx(t)

	t.Run("cluster", func(t *testing.T) { b.t = t; browseCluster(ctx, b, f) })
	t.Run("topics", func(t *testing.T) { b.t = t; browseTopics(ctx, b, f) })
	t.Run("messages", func(t *testing.T) { b.t = t; browseMessages(b) })
	t.Run("groups", func(t *testing.T) { b.t = t; browseGroups(ctx, b, f) })
	t.Run("reassignments", func(t *testing.T) {
		b.t = t
		b.open("reassignments", "reassignments")
		b.waitFor("no reassignments", `document.getElementById("reassignments").textContent.includes("no reassignments")`)
		// The form reaches the controller, which names what is wrong.
		b.run("reassign to a node that is not there",
			chromedp.SetValue(chromedp.CSS(`#reassign input[name=topic]`), ordersTopic),
			chromedp.SetValue(chromedp.CSS(`#reassign input[name=replicas]`), "7"),
			chromedp.Click(chromedp.CSS(`#reassign button`)))
		b.waitFor("reassign refused", `document.getElementById("error").textContent.includes("node 7 is not a live member")`)
		b.screenshot("reassignments")
	})
	b.t = t
}

func browseCluster(ctx context.Context, b *browser, f *fixture) {
	m, err := f.cl.Metadata(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	all := admin.Summarize(m)
	m.Topics, _ = admin.WithoutInternal(m.Topics)
	want := admin.Summarize(m) // what `sluice cluster status` shows
	b.open("cluster", "cluster")
	nodes := b.rows("nodes")
	if len(nodes) != 1 {
		b.t.Fatalf("nodes table %v, want one node", nodes)
	}
	n := nodes[0]
	if n[0] != "1" || n[1] != admin.NodeUp || n[2] != f.c.Addr(0) || n[3] != f.c.HTTP(0) || n[4] != strconv.Itoa(want.Brokers[0].Leaders) ||
		n[5] != strconv.Itoa(want.Brokers[0].Replicas) || n[6] != "ok" || n[7] != "registered" || n[8] != "controller" {
		b.t.Errorf("node row %q; want node 1 up at %s / %s with %d leaders, %d replicas, log dir ok, registered, controller",
			n, f.c.Addr(0), f.c.HTTP(0), want.Brokers[0].Leaders, want.Brokers[0].Replicas)
	}
	if got := b.text("#controller"); got != strconv.Itoa(int(want.ControllerID)) {
		b.t.Errorf("controller %q, want %d", got, want.ControllerID)
	}
	if got := b.text("#partition-count"); got != strconv.Itoa(want.Partitions) {
		b.t.Errorf("partitions %q, want %d (internal topics left out)", got, want.Partitions)
	}
	b.screenshot("cluster")
	b.open("cluster?internal=true", "cluster")
	if got := b.text("#partition-count"); got != strconv.Itoa(all.Partitions) {
		b.t.Errorf("partitions with internal topics %q, want %d", got, all.Partitions)
	}
}

func browseTopics(ctx context.Context, b *browser, f *fixture) {
	b.open("topics", "topics")
	if !slices.ContainsFunc(b.rows("topics"), func(r []string) bool { return r[0] == ordersTopic && r[1] == "3" && r[2] == "1" }) {
		b.t.Fatalf("topics table %v lacks %s with 3 partitions, replication 1", b.rows("topics"), ordersTopic)
	}

	// Create a topic from the form; the client sees it.
	b.run("create topic",
		chromedp.SetValue(chromedp.CSS(`#create-topic input[name=name]`), "from-ui"),
		chromedp.SetValue(chromedp.CSS(`#create-topic input[name=partitions]`), "2"),
		chromedp.SetValue(chromedp.CSS(`#create-topic input[name=configs]`), "retention.ms=60000"),
		chromedp.Click(chromedp.CSS(`#create-topic button`)))
	b.waitFor("created", `document.getElementById("create-status").textContent === "created topic from-ui with 2 partitions"`)
	d, err := f.cl.DescribeTopic(ctx, "from-ui")
	if err != nil || len(d.Partitions) != 2 || d.Configs["retention.ms"] != "60000" {
		b.t.Fatalf("topic created from the console: %+v, %v", d, err)
	}
	b.screenshot("topics")

	// The topic page shows what describe shows.
	want, err := f.cl.DescribeTopic(ctx, ordersTopic)
	if err != nil {
		b.t.Fatal(err)
	}
	b.open("topics/"+ordersTopic, "topics")
	parts := b.rows("partitions")
	if len(parts) != ordersPartitions {
		b.t.Fatalf("partitions table %v, want %d rows", parts, ordersPartitions)
	}
	for i, p := range want.Partitions {
		r := parts[i]
		if r[0] != strconv.Itoa(int(p.Partition)) || r[1] != strconv.Itoa(int(p.Leader)) || r[3] != "1" || r[4] != "1" ||
			r[6] != strconv.FormatInt(p.LogEndOffset, 10) || r[7] != strconv.FormatInt(p.HighWatermark, 10) {
			b.t.Errorf("partition row %q; describe says %+v", r, p)
		}
	}
	configs := map[string][]string{}
	for _, r := range b.rows("configs") {
		configs[r[0]] = r[1:]
	}
	if c := configs["retention.ms"]; len(c) < 2 || c[0] != "86400000" || c[1] != "topic" {
		b.t.Errorf("retention.ms row %q, want the override 86400000", c)
	}
	if c := configs["segment.bytes"]; len(c) < 2 || c[1] != "default" {
		b.t.Errorf("segment.bytes row %q, want the node's default", c)
	}
	// The rates column fills in on the page's refresh.
	b.waitFor("rates", `document.querySelector("#partitions tbody tr").cells[10].innerText !== "-"`)

	// Alter a config from the form.
	b.run("alter config",
		chromedp.SetValue(chromedp.CSS(`#alter-config select[name=key]`), "retention.ms"),
		chromedp.SetValue(chromedp.CSS(`#alter-config input[name=value]`), "3600000"),
		chromedp.Click(chromedp.CSS(`#alter-config button`)))
	b.waitFor("altered", `Array.from(document.querySelectorAll("#configs tbody tr")).some((tr) => tr.cells[0].innerText === "retention.ms" && tr.cells[1].innerText === "3600000")`)
	awaitTopic(ctx, b, f, ordersTopic, func(d client.TopicDescription, err error) bool {
		return err == nil && d.Configs["retention.ms"] == "3600000"
	})
	b.screenshot("topic")

	// Delete with confirmation: the name must be typed.
	b.open("topics/from-ui", "topics")
	b.run("delete topic",
		chromedp.Click(chromedp.CSS(`#delete-topic`)),
		chromedp.SetValue(chromedp.CSS(`#delete-name`), "from-ui"),
		eval(`document.body.dataset.page = ""`),
		chromedp.Click(chromedp.CSS(`#delete-execute`)),
		b.waitPage("topics"))
	if slices.ContainsFunc(b.rows("topics"), func(r []string) bool { return r[0] == "from-ui" }) {
		b.t.Errorf("from-ui still listed after delete: %v", b.rows("topics"))
	}
	awaitTopic(ctx, b, f, "from-ui", func(_ client.TopicDescription, err error) bool {
		return errors.Is(err, client.ErrUnknownTopicOrPartition)
	})
}

// awaitTopic describes topic until ok holds (metadata reaches the node a
// moment after the controller wrote it).
func awaitTopic(ctx context.Context, b *browser, f *fixture, topic string, ok func(client.TopicDescription, error) bool) {
	b.t.Helper()
	deadline := time.Now().Add(pageTimeout)
	for {
		d, err := f.cl.DescribeTopic(ctx, topic)
		if ok(d, err) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("topic %s: %+v, %v after %s", topic, d, err, pageTimeout)
		}
		select {
		case <-ctx.Done():
			b.t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func browseMessages(b *browser) {
	b.open("messages?topic=orders&partition=0&offset=0&format=json&limit=50", "messages")
	recs := b.rows("records")
	if len(recs) != ordersRecords {
		b.t.Fatalf("records table has %d rows, want %d: %v", len(recs), ordersRecords, recs)
	}
	for i, r := range recs {
		if r[0] != strconv.Itoa(i) || r[2] != fmt.Sprintf("(not JSON) order-%d", i) ||
			!strings.Contains(r[3], fmt.Sprintf(`"item": "widget-%d"`, i)) || r[4] != "source: (not JSON) e2e" {
			b.t.Errorf("record row %q", r)
		}
	}
	b.screenshot("messages")

	b.open("messages?topic=orders&partition=0&offset=5&format=hex&limit=2", "messages")
	recs = b.rows("records")
	if len(recs) != 2 || recs[0][0] != "5" || !strings.HasPrefix(recs[0][3], "7b 22 69 64 22 3a 35") || recs[0][4] != "source: 65 32 65" {
		b.t.Errorf("hex page %q", recs)
	}
	b.open("messages?topic=orders&partition=1&format=text", "messages")
	if recs = b.rows("records"); len(recs) != 1 || recs[0][3] != "plain text" || recs[0][2] != "(null)" {
		b.t.Errorf("partition 1 page %q", recs)
	}
}

func browseGroups(ctx context.Context, b *browser, f *fixture) {
	b.open("groups", "groups")
	if !slices.ContainsFunc(b.rows("groups"), func(r []string) bool { return r[0] == billingGroup && r[1] == "Empty" }) {
		b.t.Fatalf("groups table %v lacks %s", b.rows("groups"), billingGroup)
	}
	b.screenshot("groups")

	checkLag := func() {
		b.t.Helper()
		want, err := admin.DescribeGroup(ctx, f.cl, billingGroup)
		if err != nil {
			b.t.Fatal(err)
		}
		rows := b.rows("lag")
		if len(rows) != len(want.Partitions) {
			b.t.Fatalf("lag table %v; describe says %+v", rows, want.Partitions)
		}
		for i, p := range want.Partitions {
			r := rows[i]
			if r[0] != p.Topic || r[1] != strconv.Itoa(int(p.Partition)) || r[2] != strconv.FormatInt(p.Committed, 10) ||
				r[3] != strconv.FormatInt(p.LogEndOffset, 10) || r[4] != strconv.FormatInt(p.Lag, 10) {
				b.t.Errorf("lag row %q; describe says %+v", r, p)
			}
		}
	}
	b.open("groups/"+billingGroup, "groups")
	checkLag()
	if total := b.text("#total-lag"); total != strconv.Itoa(ordersRecords-billingCommitted) {
		b.t.Errorf("total lag %q, want %d", total, ordersRecords-billingCommitted)
	}

	// Reset to earliest: the preview shows the plan and commits nothing;
	// execute commits it.
	b.run("preview reset",
		chromedp.SetValue(chromedp.CSS(`#reset-offsets select[name=to]`), "earliest"),
		chromedp.Click(chromedp.CSS(`#reset-preview`)),
		chromedp.WaitVisible(chromedp.CSS(`#reset-plan`)))
	plan := b.rows("reset-plan")
	if len(plan) != ordersPartitions || plan[0][2] != strconv.Itoa(billingCommitted) || plan[0][3] != "0" || plan[1][2] != "1" || plan[1][3] != "0" {
		b.t.Errorf("reset plan %q", plan)
	}
	tps := []client.TopicPartition{{Topic: ordersTopic, Partition: 0}, {Topic: ordersTopic, Partition: 1}, {Topic: ordersTopic, Partition: 2}}
	got, err := f.cl.CommittedOffsets(ctx, billingGroup, tps...)
	if err != nil || got[tps[0]].Offset != billingCommitted {
		b.t.Fatalf("preview committed: %+v, %v", got, err)
	}
	b.screenshot("group")
	b.run("execute reset", chromedp.Click(chromedp.CSS(`#reset-execute`)), chromedp.WaitVisible(chromedp.CSS(`#reset-done`)))
	got, err = f.cl.CommittedOffsets(ctx, billingGroup, tps...)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, tp := range tps {
		if got[tp].Offset != 0 {
			b.t.Errorf("%v committed %d after reset to earliest, want 0", tp, got[tp].Offset)
		}
	}
	checkLag()

	// A live group: its member and assignment show, and a reset is
	// refused while it has members.
	g, err := client.NewGroupConsumer(f.cl, client.GroupConfig{GroupID: "live", Topics: []string{ordersTopic},
		AutoOffsetReset: client.ResetEarliest})
	if err != nil {
		b.t.Fatal(err)
	}
	defer func() { _ = g.Close(context.Background()) }()
	deadline := time.Now().Add(pageTimeout)
	for len(g.Assignment()) != ordersPartitions {
		if time.Now().After(deadline) {
			b.t.Fatalf("live group assignment %v after %s", g.Assignment(), pageTimeout)
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := g.Poll(pctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			b.t.Fatal(err)
		}
	}
	b.open("groups/live", "groups")
	members := b.rows("members")
	if len(members) != 1 || members[0][0] != g.MemberID() || members[0][3] != "orders/0, orders/1, orders/2" {
		b.t.Errorf("members table %q; want member %s owning orders/0-2", members, g.MemberID())
	}
	if state := b.text("#group-state"); state != "Stable" {
		b.t.Errorf("live group state %q, want Stable", state)
	}
	b.run("refused reset", chromedp.Click(chromedp.CSS(`#reset-preview`)))
	b.waitFor("reset refused", `document.getElementById("error").textContent.includes("stop its consumers before resetting offsets")`)
	b.screenshot("group-live")
}
