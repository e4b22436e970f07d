package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// consumedJSON is a line of `consume --format json`.
type consumedJSON struct {
	Partition       int32             `json:"partition"`
	Offset          int64             `json:"offset"`
	Key             *string           `json:"key"`
	KeyEncoding     string            `json:"key_encoding"`
	Value           *string           `json:"value"`
	ValueEncoding   string            `json:"value_encoding"`
	Headers         map[string]string `json:"headers"`
	HeaderEncodings map[string]string `json:"header_encodings"`
}

func parseConsumed(t *testing.T, out string) []consumedJSON {
	t.Helper()
	var recs []consumedJSON
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var r consumedJSON
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("consume printed %q, not JSON: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// cliExit runs sluice and fails unless it exits with code; it returns
// stdout and stderr.
func cliExit(t *testing.T, c *clustertest.Cluster, code int, stdin string, args ...string) (string, string) {
	t.Helper()
	got, out, errOut := cliRun(t, c, stdin, args...)
	if got != code {
		t.Fatalf("sluice %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, got, code, out, errOut)
	}
	return out, errOut
}

// TestCLIProduceAndConsumeOptions covers produce's key, header, bad-line and
// size options, consume's start and end options, JSON output with binary
// data, effective configs, the config listing, cluster status and shell
// completion, against one sluiced.
func TestCLIProduceAndConsumeOptions(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := newClient(t, c)
	cliOK(t, c, "", "topic", "create", "opts", "-p", "1", "-c", "retention.ms=3600000")

	// -k and -H: one key and headers on every record; produce -o json.
	out := cliOK(t, c, "a\nb\n", "-o", "json", "produce", "opts", "-k", "fixed", "-H", "trace=t1", "-H", "app=cli")
	var res struct {
		Topic   string `json:"topic"`
		Records int    `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Topic != "opts" || res.Records != 2 {
		t.Fatalf("produce -o json printed %q: %v", out, err)
	}
	recs := parseConsumed(t, cliOK(t, c, "", "consume", "opts", "--offset", "0", "-e", "--format", "json"))
	if len(recs) != 2 {
		t.Fatalf("consume -e read %d records, want 2: %+v", len(recs), recs)
	}
	for _, r := range recs {
		if r.Key == nil || *r.Key != "fixed" || r.Headers["trace"] != "t1" || r.Headers["app"] != "cli" {
			t.Fatalf("record %+v: want key fixed and headers trace=t1, app=cli", r)
		}
	}

	// Lines without the key separator: an error naming the line and the
	// option, the earlier lines sent from stdin; skipped with
	// --skip-bad-lines; a file is checked before anything is sent.
	_, errOut := cliExit(t, c, 1, "k1:v1\nnokey\nk2:v2\n", "produce", "opts", "-K", ":")
	if !strings.Contains(errOut, "line 2") || !strings.Contains(errOut, "--skip-bad-lines") {
		t.Fatalf("bad line error %q: want the line number and --skip-bad-lines", errOut)
	}
	_, errOut = cliExit(t, c, 0, "k3:v3\nnokey\nk4:v4\n", "produce", "opts", "-K", ":", "--skip-bad-lines")
	if !strings.Contains(errOut, "skipped line 2") || !strings.Contains(errOut, "produced 2 records") {
		t.Fatalf("--skip-bad-lines stderr %q", errOut)
	}
	before := endOffset(t, cl, "opts")
	file := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(file, []byte("k5:v5\nk6:v6\nnokey\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut = cliExit(t, c, 1, "", "produce", "opts", "-K", ":", "-f", file); !strings.Contains(errOut, "line 3") {
		t.Fatalf("bad file error %q", errOut)
	}
	if after := endOffset(t, cl, "opts"); after != before {
		t.Fatalf("a refused file wrote records: log end %d, was %d", after, before)
	}

	// --offset -N: the last N records; --from-time; -e on an empty range.
	tail := parseConsumed(t, cliOK(t, c, "", "consume", "opts", "--offset", "-3", "-e", "--format", "json"))
	end := endOffset(t, cl, "opts")
	if len(tail) != 3 || tail[0].Offset != end-3 || tail[2].Offset != end-1 {
		t.Fatalf("--offset -3 read %+v, want offsets %d..%d", tail, end-3, end-1)
	}
	if all := parseConsumed(t, cliOK(t, c, "", "consume", "opts", "--from-time", "1h", "-e", "--format", "json")); int64(len(all)) != end {
		t.Fatalf("--from-time 1h read %d records, want %d", len(all), end)
	}
	if none := strings.TrimSpace(cliOK(t, c, "", "consume", "opts", "--from-time", "2999-01-01T00:00:00Z", "-e")); none != "" {
		t.Fatalf("--from-time in the future printed %q", none)
	}
	cliExit(t, c, 2, "", "consume", "opts", "--offset", "1", "--from-beginning")
	cliExit(t, c, 2, "", "consume", "opts", "--from-time", "yesterday")

	// Binary keys, values and headers print as base64 in JSON.
	bin := []byte{0xff, 0x00, 0xfe}
	p := newProducer(t, cl, client.ProducerConfig{})
	if _, _, err := p.Produce(testCtx(t), &client.Record{Topic: "bin", Partition: client.AnyPartition}); err == nil {
		t.Fatal("produce to a missing topic succeeded")
	}
	cliOK(t, c, "", "topic", "create", "bin")
	if _, _, err := p.Produce(testCtx(t), &client.Record{Topic: "bin", Key: bin, Value: bin,
		Headers: []client.RecordHeader{{Key: "h", Value: bin}, {Key: "t", Value: []byte("text")}}}); err != nil {
		t.Fatal(err)
	}
	b := parseConsumed(t, cliOK(t, c, "", "consume", "bin", "--from-beginning", "-e", "--format", "json"))
	want := base64.StdEncoding.EncodeToString(bin)
	if len(b) != 1 || b[0].Key == nil || *b[0].Key != want || b[0].KeyEncoding != "base64" || b[0].Value == nil ||
		*b[0].Value != want || b[0].ValueEncoding != "base64" || b[0].Headers["h"] != want ||
		b[0].HeaderEncodings["h"] != "base64" || b[0].Headers["t"] != "text" || b[0].HeaderEncodings["t"] != "" {
		t.Fatalf("binary record as JSON: %+v", b)
	}

	// A record larger than the default batch goes through, up to the
	// topic's max.message.bytes (Kafka's default 1 MiB, raised here); one
	// over a limit is refused naming the option that raises it.
	big := bytes.Repeat([]byte("x"), 2<<20)
	_, errOut = cliExit(t, c, 1, string(big)+"\n", "produce", "opts")
	if !strings.Contains(errOut, "max.message.bytes") || strings.Count(errOut, "MESSAGE_TOO_LARGE") != 1 {
		t.Fatalf("record over max.message.bytes: %q", errOut)
	}
	cliOK(t, c, "", "topic", "alter", "opts", "-c", "max.message.bytes=4194304")
	cliOK(t, c, string(big)+"\n", "produce", "opts")
	got := parseConsumed(t, cliOK(t, c, "", "consume", "opts", "--offset", "-1", "-e", "--format", "json"))
	if len(got) != 1 || got[0].Value == nil || len(*got[0].Value) != len(big) {
		t.Fatalf("the 2 MiB record did not come back whole: %d records", len(got))
	}
	if _, errOut = cliExit(t, c, 1, string(big)+"\n", "produce", "opts", "--max-request-bytes", "1048576"); !strings.Contains(errOut, "--max-request-bytes") {
		t.Fatalf("too large record error %q: want the option that raises the limit", errOut)
	}

	// topic describe: every effective config with its source.
	var d struct {
		Effective []struct {
			Name, Value, Source string
		} `json:"effective_configs"`
	}
	if err := json.Unmarshal([]byte(cliOK(t, c, "", "topic", "describe", "opts", "-o", "json")), &d); err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{}
	for _, e := range d.Effective {
		sources[e.Name] = e.Value + "/" + e.Source
	}
	if len(d.Effective) != len(metadata.ConfigNames()) || sources["retention.ms"] != "3600000/topic" ||
		!strings.HasSuffix(sources["cleanup.policy"], "/default") {
		t.Fatalf("effective configs %v", sources)
	}
	var keys []struct {
		Name, Type, Default, Doc string
	}
	if err := json.Unmarshal([]byte(cliOK(t, c, "", "topic", "configs", "-o", "json")), &keys); err != nil ||
		len(keys) != len(metadata.ConfigNames()) || keys[0].Type == "" || keys[0].Doc == "" {
		t.Fatalf("topic configs: %v %+v", err, keys)
	}

	// cluster status hides internal topics unless --internal.
	cliOK(t, c, "", "consume", "opts", "--group", "g", "--max-messages", "1", "--from-beginning")
	countTopics := func(args ...string) int {
		var st struct {
			Topics int `json:"topics"`
		}
		if err := json.Unmarshal([]byte(cliOK(t, c, "", append([]string{"cluster", "status", "-o", "json"}, args...)...)), &st); err != nil {
			t.Fatal(err)
		}
		return st.Topics
	}
	if plain, internal := countTopics(), countTopics("--internal"); plain != 2 || internal != 3 {
		t.Fatalf("cluster status: %d topics, %d with --internal; want 2 and 3", plain, internal)
	}

	// Shell completion of topic and group names.
	comp := cliOK(t, c, "", "__complete", "topic", "describe", "op")
	if !strings.Contains(comp, "opts\n") || strings.Contains(comp, "bin\n") {
		t.Fatalf("topic completion:\n%s", comp)
	}
	if comp = cliOK(t, c, "", "__complete", "group", "describe", ""); !strings.Contains(comp, "g\n") {
		t.Fatalf("group completion:\n%s", comp)
	}
}

func endOffset(t *testing.T, cl *client.Client, topic string) int64 {
	t.Helper()
	end, _, err := cl.ListOffsets(testCtx(t), topic, 0, client.LatestTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	return end
}
