// Package gittest builds real Git repositories for tests: a bare repository (what a server
// serves) and a work tree to commit from, with the git CLI, plus OpenPGP and SSH commit signers.
package gittest
