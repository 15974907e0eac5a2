// Package examples embeds the example fleet repository in the flotilla binary, so that
// `flotilla quickstart` works from any installation. Its two Go files (doc.go, embed.go) are not part
// of the repository you copy: leave them out.
package examples
