// Package reassign tests partition reassignment on a real cluster: three
// sluiced processes and a Consul dev agent, a fourth node started under an
// acks=all load, partitions moved onto it, and every acknowledged record
// checked at its partition and offset afterwards.
package reassign
