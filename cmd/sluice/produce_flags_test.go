package main

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

func TestProducerFlagsIdempotence(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want client.Idempotence
	}{
		{nil, client.IdempotenceDefault},
		{[]string{"--acks", "1"}, client.IdempotenceDefault}, // the client turns it off for acks=1
		{[]string{"--idempotent=false"}, client.IdempotenceOff},
		{[]string{"--idempotent"}, client.IdempotenceOn}, // explicit: a conflict is an error
	} {
		var f producerFlags
		cmd := &cobra.Command{Use: "x"}
		f.register(cmd, "all")
		if err := cmd.ParseFlags(tt.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.config()
		if err != nil || cfg.Idempotence != tt.want {
			t.Errorf("%v: idempotence %v, %v; want %v", tt.args, cfg.Idempotence, err, tt.want)
		}
	}
}
