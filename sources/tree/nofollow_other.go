//go:build !unix

package tree

const openNoFollow = 0
