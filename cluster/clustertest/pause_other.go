//go:build !unix

package clustertest

func (n *Node) resume() {}
