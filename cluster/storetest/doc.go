// Package storetest is the conformance suite for cluster.Store
// implementations. Every implementation runs the same tests:
//
//	func TestStoreConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) cluster.Store {
//			st := local.OpenMemory(local.WithWaitTime(200 * time.Millisecond))
//			t.Cleanup(func() { st.Close() })
//			return st
//		})
//	}
//
// The factory returns an empty store that no other test touches (for Consul:
// a fresh root prefix) and arranges its own cleanup; the suite closes some
// stores itself, so cleanup must ignore cluster.ErrClosed. The store's Watch
// wait time must be short (well under WatchWaitLimit) so that the wait-time
// test finishes quickly.
package storetest
