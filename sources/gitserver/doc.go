// Package gitserver serves Git repositories on 127.0.0.1: over smart HTTP by running
// `git http-backend` as CGI, and over SSH by running `git upload-pack`. The quickstart serves the
// example fleet repository with it, and tests use it as a real Git server: with HTTP basic or
// bearer-token auth, SSH public-key auth with a host key for known_hosts, pushes over HTTP, and
// a count of the bytes and packs it sends.
package gitserver
