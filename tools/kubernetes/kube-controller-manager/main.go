// Command kube-controller-manager is Kubernetes' own controller manager
// (k8s.io/kubernetes/cmd/kube-controller-manager), built with the API server from one module: in
// the e2e check its Deployment, ReplicaSet, StatefulSet and Job controllers create the render's
// pods through real admission, and its namespace and garbage collectors carry out deletion.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() { os.Exit(cli.Run(app.NewControllerManagerCommand())) }
