// Package testport hands out loopback ports to tests that start real
// processes (sluiced, Consul) on addresses chosen in advance and restart
// them on the same addresses.
//
// A port a test picks by listening on port 0 and closing the listener is
// free only at that moment: it lies in the kernel's ephemeral range, so any
// process's next outgoing connection may take it as its local port, and a
// node restarted on it then fails with "address already in use"; and the
// kernel may give the same port to the next caller in this process. Ports
// from Take lie outside the ephemeral range (ip_local_port_range), where no
// outgoing connection is given a port, are never handed out twice by one
// process, and are reserved across processes by an exclusive lock on a
// file named after the port in the temporary directory, held until the
// process exits, so test binaries running in parallel do not pick the
// same port.
package testport
