//go:build tools

// Package controlplane pins the Kubernetes control plane that issuer's real-cluster tests run against.
// Nothing here is compiled into issuer: go.mod and go.sum fix the versions of kube-apiserver,
// kube-controller-manager, etcd (and kubectl, for machines without one), and scripts/controlplane/build
// builds those commands from the Go module proxy. The imports below only keep `go mod tidy` from dropping
// the modules they come from.
package controlplane

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
