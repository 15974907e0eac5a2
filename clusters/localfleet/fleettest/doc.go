// Package fleettest shares one local fleet across a test package, gives each test a namespace,
// and runs kubectl as an independent witness of what is in a cluster.
package fleettest
