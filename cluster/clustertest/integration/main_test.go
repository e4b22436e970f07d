package integration

import (
	"os"
	"testing"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// TestMain runs the tests, or, when the test binary is started as the
// exactly-once ETL program of TestExactlyOnceETL, that program.
func TestMain(m *testing.M) {
	if brokers := os.Getenv(etlBrokersEnv); brokers != "" {
		os.Exit(runETL(brokers))
	}
	clustertest.Main(m)
}
