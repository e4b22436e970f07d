package wire

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// docRow is a row of the served-keys table of docs/KAFKA.md:
// | key | API | min–max |.
var docRow = regexp.MustCompile(`^\|\s*(\d+)\s*\|\s*(\w+)\s*\|\s*(\d+)\s*[–-]\s*(\d+)\s*\|$`)

// kafkaName is the name Apache Kafka gives key: kmsg's, but for the one
// key kmsg names differently.
func kafkaName(key int16) string {
	if key == 45 {
		return "AlterPartitionReassignments"
	}
	return kmsg.NameForKey(key)
}

// TestKafkaDocMatchesServedTable keeps the table of docs/KAFKA.md equal to
// what ApiVersions advertises: every advertised key, its name and its
// range, and nothing else.
func TestKafkaDocMatchesServedTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "KAFKA.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Served API keys and versions\n")
	if !ok {
		t.Fatal(`docs/KAFKA.md has no "## Served API keys and versions" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[int16]kmsg.ApiVersionsResponseApiKey{}
	for _, line := range strings.Split(section, "\n") {
		m := docRow.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		key, _ := strconv.Atoi(m[1])
		lo, _ := strconv.Atoi(m[3])
		hi, _ := strconv.Atoi(m[4])
		if want := kafkaName(int16(key)); !strings.EqualFold(m[2], want) {
			t.Errorf("docs/KAFKA.md: key %d is named %s, Kafka calls it %s", key, m[2], want)
		}
		if _, dup := documented[int16(key)]; dup {
			t.Errorf("docs/KAFKA.md: key %d listed twice", key)
		}
		documented[int16(key)] = kmsg.ApiVersionsResponseApiKey{ApiKey: int16(key), MinVersion: int16(lo), MaxVersion: int16(hi)}
	}
	advertised := ApiVersionsKeys()
	if len(documented) == 0 {
		t.Fatal("docs/KAFKA.md: no rows found in the served table")
	}
	for _, k := range advertised {
		d, ok := documented[k.ApiKey]
		switch {
		case !ok:
			t.Errorf("docs/KAFKA.md lacks key %d (%s) v%d-%d", k.ApiKey, kmsg.NameForKey(k.ApiKey), k.MinVersion, k.MaxVersion)
		case d.MinVersion != k.MinVersion || d.MaxVersion != k.MaxVersion:
			t.Errorf("docs/KAFKA.md: key %d (%s) documented v%d-%d, advertised v%d-%d",
				k.ApiKey, kmsg.NameForKey(k.ApiKey), d.MinVersion, d.MaxVersion, k.MinVersion, k.MaxVersion)
		}
		delete(documented, k.ApiKey)
	}
	for key := range documented {
		t.Errorf("docs/KAFKA.md lists key %d (%s), which is not advertised", key, kmsg.NameForKey(key))
	}
}
