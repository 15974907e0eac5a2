// Package config reads Flotilla's configuration: Kubernetes-style YAML documents with
// apiVersion flotilla.dev/v1alpha1 and kind Source, Cluster or App, from one file or a folder.
//
// Load checks every document strictly: unknown fields, wrong types, missing or duplicate names,
// references to undefined Sources, bad selectors, path templates, schedules and durations are
// all reported at once, each with file, line, object (Kind/name) and field. Credentials are never
// inline: auth fields name a file or an environment variable.
//
// A configuration is treated as hostile input. Load refuses, or bounds:
//
//   - Files. The path must be a regular file or a folder: a named pipe, socket or device is
//     refused without being opened (reading a named pipe would wait for a writer). In a folder,
//     only the .yaml and .yml entries are read, folders among them skipped; an entry that is
//     not a regular file, or a symbolic link to one, is reported as a problem and never opened.
//     Files are opened non-blocking and checked again once open, in case one was replaced. One
//     file holds at most MaxFileSize bytes, a folder's files together MaxFolderSize, and these
//     are read before anything is parsed.
//   - YAML. Aliases are followed for at most 200,000 nodes per document (a "billion laughs"
//     document is refused), a key must be plain text (an alias, list or mapping as a key is
//     refused before anything expands it, as is a key that is not text in labels and
//     selectors), and the YAML parser bounds nesting at 10,000 levels.
//   - Messages. An Error lists the first 100 problems and counts the others; values and keys
//     it quotes are shortened.
//   - Source URLs. A password in the URL (https://user:password@host, user:password@host:path),
//     an '@' after the host and control characters are refused. Messages never show a URL's
//     credentials: they go through RedactURL, which replaces them with "***".
//   - App path templates (spec.path). A template may only insert the cluster's name and labels:
//     {{ .Cluster.Name }}, {{ .Cluster.Labels.KEY }}, {{ index .Cluster.Labels "KEY" }} (for
//     keys with dots or slashes) and the functions lower and upper, in pipelines of at most three
//     commands. Every other function (printf, len, call, slice, eq…), if, range, with, template,
//     define, block, variables and parentheses are refused, naming the construct. The template
//     and the path it resolves to hold at most MaxPathLength bytes; a path that is empty,
//     absolute, climbs out of the repository with ".." or holds a control character is refused,
//     by Load for the template's literal text and by App.PathFor for the resolved path. PathFor
//     applies the same checks to an App that did not come from Load.
//
// The types are plain structs with JSON tags so that they can later be served as CRDs.
package config
