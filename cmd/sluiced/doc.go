// Command sluiced runs one Sluice broker node.
//
//	sluiced                                  # data in ./data, remote on 127.0.0.1:9650
//	sluiced --config sluiced.yaml --node-id 2    # see sluiced.example.yaml
//	sluiced --node-id 2 --consul 127.0.0.1:8500 --listen 10.0.0.2:9650 --advertise 10.0.0.2:9650
//
// With --consul (or consul.address in the config file) the node joins the
// cluster whose metadata lives in that Consul; it needs a node id unique
// in the cluster, given explicitly.
//
// Flags override the config file, which overrides the defaults. SIGINT or
// SIGTERM drains in-flight requests, flushes and closes every log, and
// exits 0.
package main
