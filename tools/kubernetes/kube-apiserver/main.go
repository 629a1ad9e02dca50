// Command kube-apiserver is Kubernetes' own API server (k8s.io/kubernetes/cmd/kube-apiserver) at a
// pinned version, for the e2e check against a real API server (e2e/cluster.ts). k8s.io/kubernetes
// requires its staging modules at v0.0.0 and replaces them with its own folders; a module that
// requires it must repeat those replaces with the published versions (go.mod).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
