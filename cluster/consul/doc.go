// Package consul implements cluster.Store and cluster.Membership on Consul,
// through its HTTP API.
//
// Store keeps the metadata in Consul KV under a prefix (default "sluice/").
// A key's version is its ModifyIndex; CAS and versioned deletes are Consul
// transactions, and Watch is a blocking query on a key prefix:
//
//	store, err := consul.NewStore(consul.Config{Address: "127.0.0.1:8500"})
//	kvs, index, err := store.List(ctx, "topics/")
//	kvs, index, err = store.Watch(ctx, "topics/", index) // blocks until topics/ changes
//	version, err := store.CAS(ctx, "topics/orders", value, 0) // create if absent
//
// Membership keeps these records, all under the same prefix:
//
//	service  <ServiceName>-<id>   meta node_id, address, http_address, kafka_address; TTL check
//	                              "service:<ServiceName>-<id>" passed every CheckTTL/3
//	session  <ServiceName>-<id>   bound to serfHealth and the TTL check,
//	                              behavior delete, lock-delay LockDelay
//	key      nodes/<id>           cluster.Member as JSON, acquired by the session
//	key      controller           the controller's node id, acquired by its session
//
// A node is a member while its session holds its node key. When the node
// stops passing its check (it died, stalled or left) the session ends and
// Consul deletes the keys the session held, which also frees the controller
// lock. A goroutine owned by the Membership passes the check and repairs
// the registration when the agent has lost it: an agent restarted without
// its state knows neither the service nor the session, so the service is
// registered again, a new session created and the node key acquired again.
// While Consul cannot be reached it retries with backoff and Status reports
// the failure.
//
//	m, err := consul.NewMembership(consul.Config{Address: addr})
//	err = m.Join(ctx, cluster.Member{NodeID: 1, Address: "10.0.0.1:7000"})
//	defer m.Close()
//	lost, err := m.Campaign(ctx) // blocks until this node is the controller
//	<-lost                       // no longer the controller
//
// Failures to reach Consul (connection errors, timeouts, 5xx, 429) wrap
// cluster.ErrUnavailable. Every request is bounded by Config.Timeout, and a
// blocking query by Config.WaitTime plus that.
package consul
