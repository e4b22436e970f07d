// Package server is Sluice's Kafka listener: it accepts TCP connections,
// reads length-prefixed requests (kafka/wire), hands each to a Handler and
// writes the responses in request order.
//
// Each connection has a reader goroutine and a writer goroutine. The reader
// decodes a request, puts a slot for its response in the connection's
// queue and starts the request's handler goroutine; the queue holds at most
// Config.MaxInFlight slots, so a client that pipelines more waits for the
// reader (back-pressure through TCP). The writer takes the slots in order,
// waits for each handler and writes its response: pipelined requests are
// served concurrently and answered in the order they came. A request the
// handler answers with no response (Produce with acks=0) leaves no frame.
//
// A *wire.FileFetch response (zero-copy Fetch) is written as its encoded
// framing around its file ranges, which go out with sendfile(2) through
// (*net.TCPConn).ReadFrom; its files are closed after the send. Responses
// the writer never sends because the connection closed are released as
// their handlers finish.
//
// A frame over Config.MaxRequestBytes, a frame that is not a request
// (garbage, a truncated stream) or a key or version outside the served table
// closes the connection, as Kafka does; ApiVersions at an unknown version is
// answered with UNSUPPORTED_VERSION and the table, at v0. A connection that
// sends nothing for Config.IdleTimeout is closed. None of this is logged
// above INFO: a client disconnecting or misbehaving is not a broker error.
package server
