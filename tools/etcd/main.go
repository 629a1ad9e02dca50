// Command etcd is etcd's own server (go.etcd.io/etcd/server/v3/etcdmain) at a pinned version, the
// store behind the local Kubernetes API server of the e2e check (e2e/cluster.ts).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
