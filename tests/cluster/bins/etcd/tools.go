//go:build tools

// Package tools pins the etcd release the cluster tier stores its API objects in.
package tools

import _ "go.etcd.io/etcd/server/v3"
