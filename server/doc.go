// Package server is empty today: the HTTP API, webhook receivers, metrics and web page will
// live here, with the long-running agent.
package server
