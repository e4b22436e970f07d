// Package local is the single-node implementation of cluster.Store and
// cluster.Membership: the metadata store lives in a directory of the node's
// data dir (conventionally <data>/metadata/) and the node is the only member
// and always the controller. A node without Consul runs the same controller
// and metadata code as a cluster, on this store.
//
//	st, err := local.Open(filepath.Join(dataDir, "metadata"))
//	...
//	defer st.Close()
//	m := local.NewMembership(self)
//	err = m.Join(ctx, self)
//
// OpenMemory returns a store without a file, for tests.
//
// # Semantics
//
// The store keeps a global index that every write and delete advances by
// one; a written key's version is the index of its last write, so versions
// only grow, also across delete and re-create. List returns the global index.
// Watch(prefix, index) returns as soon as a key under prefix was written or
// deleted after index (or at once for index 0 or an index ahead of the
// store), else after the wait time (WithWaitTime, default 5 minutes) with the
// unchanged listing, or with ctx.Err() when ctx is done.
//
// # On-disk format
//
// The directory holds two files:
//
//	LOCK           empty; an exclusive advisory lock (flock) held while open,
//	               so two processes cannot open the same store
//	metadata.json  the whole key space
//
// metadata.json is one header line followed by a JSON document:
//
//	sluice-metadata 1 <body length in bytes> <CRC-32C of the body, 8 hex digits>\n
//	{"index":42,"keys":[{"key":"topics/orders","value":"<base64>","version":41},...]}\n
//
// Keys are sorted. Every change rewrites the file before the call returns:
// the new content goes to metadata.json.tmp, which is fsynced, renamed over
// metadata.json, and the directory is fsynced. Concurrent writes are group
// committed: writes that queue while one file write is in progress share
// the next one, and a change becomes visible to readers only once it is on
// disk. A crash leaves either the old
// or the new file; a leftover .tmp file is ignored and overwritten. A file
// whose header, length, checksum or JSON does not verify makes Open fail with
// an error wrapping ErrCorrupt; the store never guesses at partial metadata.
package local
