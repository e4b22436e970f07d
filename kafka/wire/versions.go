package wire

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// VersionRange is the versions of one API key the listener serves.
type VersionRange struct {
	Min, Max int16
}

// served is every API key the listener implements, and its versions. A key
// is added here only together with its handler; ApiVersions advertises
// exactly this table.
//
// Produce is served from v3 (the first version whose batches are magic
// v2) but advertised from v0, as Kafka 4 does (KAFKA-18659): librdkafka
// derives its codecs from the advertised Produce range and sends gzip,
// snappy and lz4 batches uncompressed without v0-v2 in it; a client picks
// the highest common version, so v0-v2 are never sent in practice, and a
// request at one of them closes the connection like any unserved version.
// Fetch
// starts at v4 (the first version carrying the isolation level and v2
// batches), like Kafka 4. JoinGroup is served from v0 (sarama's default
// version sends v3): below v4 the handler answers MEMBER_ID_REQUIRED
// itself by joining with the assigned id.
var served = map[int16]VersionRange{
	0:  {3, 9},  // Produce (advertised from v0)
	1:  {4, 12}, // Fetch
	2:  {1, 7},  // ListOffsets
	3:  {0, 12}, // Metadata
	8:  {0, 8},  // OffsetCommit
	9:  {0, 8},  // OffsetFetch
	10: {0, 4},  // FindCoordinator
	11: {0, 9},  // JoinGroup
	12: {0, 4},  // Heartbeat
	13: {0, 5},  // LeaveGroup
	14: {0, 5},  // SyncGroup
	15: {0, 5},  // DescribeGroups
	16: {0, 4},  // ListGroups
	18: {0, 3},  // ApiVersions
	19: {0, 7},  // CreateTopics
	20: {0, 6},  // DeleteTopics
	21: {0, 2},  // DeleteRecords
	22: {0, 4},  // InitProducerId
	23: {2, 4},  // OffsetForLeaderEpoch
	24: {0, 3},  // AddPartitionsToTxn (client form; v4+ is broker-batched)
	25: {0, 4},  // AddOffsetsToTxn
	26: {0, 4},  // EndTxn (v5 bumps the epoch per transaction, KIP-890)
	28: {0, 3},  // TxnOffsetCommit (v5 implies KIP-890's implicit AddOffsets)
	32: {0, 4},  // DescribeConfigs
	33: {0, 2},  // AlterConfigs
	35: {0, 4},  // DescribeLogDirs
	37: {0, 3},  // CreatePartitions
	42: {0, 2},  // DeleteGroups
	43: {0, 2},  // ElectLeaders
	44: {0, 1},  // IncrementalAlterConfigs
	45: {0, 0},  // AlterPartitionReassignments
	46: {0, 0},  // ListPartitionReassignments
	47: {0, 0},  // OffsetDelete
	60: {0, 2},  // DescribeCluster
	61: {0, 0},  // DescribeProducers
	65: {0, 0},  // DescribeTransactions
	66: {0, 1},  // ListTransactions
}

const produceKey = 0

// Supported reports whether the listener serves key at version.
func Supported(key, version int16) bool {
	r, ok := served[key]
	return ok && version >= r.Min && version <= r.Max
}

// Served returns the range of key and whether the key is served.
func Served(key int16) (VersionRange, bool) {
	r, ok := served[key]
	return r, ok
}

// ApiVersionsKeys returns the table as ApiVersions answers it, by key.
func ApiVersionsKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(served))
	for k, r := range served {
		if k == produceKey {
			r.Min = 0
		}
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: r.Min, MaxVersion: r.Max})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
}

// ApiVersionsResponse is the ApiVersions answer at version with errCode
// (0, or UNSUPPORTED_VERSION at v0 for a version the listener does not
// know) and the served table.
func ApiVersionsResponse(version, errCode int16) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(version)
	resp.ErrorCode = errCode
	resp.ApiKeys = ApiVersionsKeys()
	return resp
}

// UnsupportedVersion is Kafka's UNSUPPORTED_VERSION error code.
const UnsupportedVersion int16 = 35
