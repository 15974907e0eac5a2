// Package server serves HTTP: the API, webhook receivers for Git pushes, Prometheus metrics
// and the web page that shows where each commit is live.
package server
