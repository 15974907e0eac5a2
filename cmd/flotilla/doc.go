// Command flotilla is the Flotilla agent and CLI: it keeps a fleet of Kubernetes clusters in the
// state that Git describes. See `flotilla --help`.
package main
