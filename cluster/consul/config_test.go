package consul_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/consul"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  consul.Config
		ok   bool
	}{
		// Zero values take the defaults.
		{"zero", consul.Config{}, true},
		{"prefix without slash", consul.Config{Prefix: "a/b"}, true},
		// Values Consul rejects.
		{"absolute prefix", consul.Config{Prefix: "/a"}, false},
		{"negative wait", consul.Config{WaitTime: -time.Second}, false},
		{"negative timeout", consul.Config{Timeout: -time.Second}, false},
		{"sub-second TTL", consul.Config{CheckTTL: 500 * time.Millisecond}, false},
		{"long lock delay", consul.Config{LockDelay: 2 * time.Minute}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tc.ok && !errors.Is(err, consul.ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
			_, err = consul.NewStore(tc.cfg)
			if tc.ok != (err == nil) {
				t.Fatalf("NewStore: %v", err)
			}
		})
	}
}
