//go:build tools

// Package tools pins the Kubernetes release whose kube-apiserver and kubectl the cluster
// tier runs. k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
// with local paths, so go.mod replaces each with its published v0.Y.Z (the list comes
// from that release's own go.mod; see build.py).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
