// Package version tells which build a binary is: the release version and
// commit, set at link time by the Makefile,
//
//	go build -ldflags "-X github.com/sluice-mq/sluice/internal/version.Version=v0.3.0
//	    -X github.com/sluice-mq/sluice/internal/version.Commit=1a2b3c4"
//
// or, when the binary was built without them (go build, go install), the
// module version and VCS revision Go records in the binary.
package version
