package scale

import (
	"testing"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }
