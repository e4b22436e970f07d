package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/client"
)

// call sends one API request and decodes the JSON answer into out (when
// non-nil); it returns the status and the body.
func call(t *testing.T, f *fixture, method, path, body string, out any) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), method, f.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return res.StatusCode, string(raw)
}

func testAPI(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string // in the error message
	}{
		{"POST", "/api/topics", `{"name":"","partitions":1}`, 400, "name: required"},
		{"POST", "/api/topics", `{"name":"bad name!","partitions":1}`, 400, `topic name "bad name!"`},
		{"POST", "/api/topics", `{"name":"x","partitions":0}`, 400, "partitions 0: want 1 to"},
		{"POST", "/api/topics", `{"name":"x","partitions":100000}`, 400, "partitions 100000"},
		{"POST", "/api/topics", `{"name":"x","partitions":1,"replication_factor":-1}`, 400, "replication_factor -1"},
		{"POST", "/api/topics", `{"name":"x","partitions":1,"colour":"red"}`, 400, `unknown field "colour"`},
		{"POST", "/api/topics", `not json`, 400, "body: invalid character"},
		{"POST", "/api/topics", ``, 400, "empty body"},
		{"POST", "/api/topics", `{"name":"x","partitions":1} {}`, 400, "more than one JSON value"},
		{"POST", "/api/topics", `{"name":"x","partitions":1,"configs":{"retention.mss":"1"}}`, 400, `unknown topic config "retention.mss"`},
		{"POST", "/api/topics", `{"name":"x","partitions":1,"configs":{"retention.ms":"soon"}}`, 400, "retention.ms"},
		{"POST", "/api/topics", `{"name":"orders","partitions":1}`, 409, "TOPIC_ALREADY_EXISTS"},
		{"POST", "/api/topics", `{"name":"` + strings.Repeat("a", 70<<10) + `","partitions":1}`, 400, "body over 65536 bytes"},
		{"GET", "/api/topics/nosuch", "", 404, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"GET", "/api/topics/orders/messages?partition=x", "", 400, `partition "x": want an integer`},
		{"GET", "/api/topics/orders/messages?partition=-1", "", 400, `partition "-1"`},
		{"GET", "/api/topics/orders/messages?partition=9", "", 404, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"GET", "/api/topics/orders/messages?offset=999", "", 400, "offset 999: outside the partition's log, 0 to 12"},
		{"GET", "/api/topics/orders/messages?limit=501", "", 400, `limit "501": want an integer from 1 to 500`},
		{"GET", "/api/topics/orders/messages?limit=0", "", 400, `limit "0"`},
		{"GET", "/api/topics/orders/messages?offset=1&timestamp=2", "", 400, "offset or timestamp, not both"},
		{"GET", "/api/topics/orders/messages?timestamp=yesterday", "", 400, `timestamp "yesterday"`},
		{"DELETE", "/api/topics/orders", "", 400, `repeat the topic's name "orders"`},
		{"DELETE", "/api/topics/orders?confirm=order", "", 400, `confirm "order"`},
		{"PATCH", "/api/topics/orders/configs", `{}`, 400, "nothing to change"},
		{"PATCH", "/api/topics/orders/configs", `{"set":{"segment.bytez":"1"}}`, 400, `config "segment.bytez"`},
		{"PATCH", "/api/topics/orders/configs", `{"delete":["nope"]}`, 400, `config "nope"`},
		{"PATCH", "/api/topics/nosuch/configs", `{"set":{"retention.ms":"1000"}}`, 404, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"POST", "/api/groups/billing/reset-offsets", `{"topic":"orders","to":"sideways"}`, 400, `to "sideways": want earliest, latest`},
		{"POST", "/api/groups/billing/reset-offsets", `{"to":"earliest"}`, 400, "topic: required"},
		{"POST", "/api/groups/billing/reset-offsets", `{"topic":"orders","to":"earliest","partitions":[7]}`, 404, `orders/7: sluice: UNKNOWN_TOPIC_OR_PARTITION: topic has 3 partitions`},
		{"POST", "/api/groups/billing/reset-offsets", `{"topic":"nosuch","to":"earliest"}`, 404, `topic "nosuch": sluice: UNKNOWN_TOPIC_OR_PARTITION: topic does not exist`},
		{"POST", "/api/groups/billing/reset-offsets", `{"topic":"orders","to":"datetime","datetime":"2026-01-02"}`, 200, ""},
		{"POST", "/api/groups/billing/reset-offsets", `{"topic":"orders","to":"datetime","datetime":"tomorrow"}`, 400, `datetime "tomorrow": want RFC 3339`},
		{"POST", "/api/groups/billing/reset-offsets", `{"topic":"orders","to":"offset","offset":-3}`, 400, "offset -3: want >= 0"},
		{"POST", "/api/reassignments", `{"topic":"orders","partition":0,"replicas":[]}`, 400, "replicas: 0 given"},
		{"POST", "/api/reassignments", `{"topic":"orders","partition":0,"replicas":[1,1]}`, 400, "node 1 named twice"},
		{"POST", "/api/reassignments", `{"topic":"orders","partition":0,"replicas":[7]}`, 400, "node 7 is not a live member"},
		{"POST", "/api/reassignments", `{"topic":"nosuch","partition":0,"replicas":[1]}`, 404, `topic "nosuch" does not exist`},
		{"GET", "/api/nosuch", "", 404, "no API route GET /api/nosuch"},
		{"PUT", "/api/topics", `{}`, 404, "no API route PUT /api/topics"},
	} {
		var e struct {
			Error string `json:"error"`
		}
		status, raw := call(t, f, tc.method, tc.path, tc.body, &e)
		if status != tc.status || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s %s %.60s: %d %s; want %d with %q", tc.method, tc.path, tc.body, status, raw, tc.status, tc.want)
		}
	}

	// The browser's bound: a page holds at most limit records.
	var page struct {
		Records []struct {
			Offset int64  `json:"offset"`
			Value  []byte `json:"value"`
		} `json:"records"`
		Next int64 `json:"next"`
	}
	if status, raw := call(t, f, "GET", "/api/topics/orders/messages?partition=0&offset=3&limit=5", "", &page); status != 200 ||
		len(page.Records) != 5 || page.Records[0].Offset != 3 || page.Next != 8 || string(page.Records[0].Value) != `{"id":3,"item":"widget-3"}` {
		t.Fatalf("page: %d %s", status, raw)
	}

	// From a time: the first record at or after it; past the last record,
	// an empty page at the log end.
	var byTime struct {
		From    int64             `json:"from"`
		Records []json.RawMessage `json:"records"`
	}
	if status, raw := call(t, f, "GET", "/api/topics/orders/messages?timestamp=1970-01-01T00:00:00Z&limit=2", "", &byTime); status != 200 ||
		byTime.From != 0 || len(byTime.Records) != 2 {
		t.Fatalf("from the epoch: %d %s", status, raw)
	}
	if status, raw := call(t, f, "GET", "/api/topics/orders/messages?timestamp=4102444800000", "", &byTime); status != 200 ||
		byTime.From != ordersRecords || len(byTime.Records) != 0 {
		t.Fatalf("from 2100: %d %s", status, raw)
	}

	// A preview commits nothing.
	var plan struct {
		Executed bool `json:"executed"`
		Plan     []struct {
			Partition int32 `json:"partition"`
			Previous  int64 `json:"previous_offset"`
			New       int64 `json:"new_offset"`
		} `json:"plan"`
	}
	if status, raw := call(t, f, "POST", "/api/groups/billing/reset-offsets", `{"topic":"orders","to":"latest","partitions":[0]}`, &plan); status != 200 ||
		plan.Executed || len(plan.Plan) != 1 || plan.Plan[0].Previous != billingCommitted || plan.Plan[0].New != ordersRecords {
		t.Fatalf("preview: %d %s", status, raw)
	}
	tp := client.TopicPartition{Topic: ordersTopic, Partition: 0}
	got, err := f.cl.CommittedOffsets(testCtx(t), billingGroup, tp)
	if err != nil || got[tp].Offset != billingCommitted {
		t.Fatalf("after preview committed %+v, %v; want %d", got, err, billingCommitted)
	}
}
