//go:build tools

// Package tools pins the Helm release whose CLI the cluster tier installs the chart with.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
