// Package wire is the framing of Sluice's Kafka listener: the int32 length
// prefix, request headers v0–v2 (client id, tagged fields of flexible
// versions), response headers (v0, or v1 with tagged fields for flexible
// versions; ApiVersions always v0) and the table of API keys and versions
// the listener implements, which ApiVersions advertises.
//
// Request and response bodies are github.com/twmb/franz-go/pkg/kmsg
// structs; this package only decides which body a frame holds and whether
// its version is served.
//
// A frame on the wire:
//
//	int32 length (of what follows, at most the configured limit)
//	int16 api_key, int16 api_version, int32 correlation_id
//	header v1+: nullable string client_id (int16 length, -1 = null)
//	header v2:  tagged fields (uvarint count, then uvarint tag, uvarint size, bytes)
//	body (kmsg encoding of the request at api_version)
package wire
