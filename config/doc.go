// Package config reads Flotilla's configuration: Kubernetes-style YAML documents with
// apiVersion flotilla.dev/v1alpha1 and kind Source, Cluster or App, from one file or a folder.
//
// Load checks every document strictly: unknown fields, wrong types, missing or duplicate names,
// references to undefined Sources, bad selectors, path templates, schedules and durations are
// all reported at once, each with file, line, object (Kind/name) and field. Credentials are never
// inline: auth fields name a file or an environment variable.
//
// The types are plain structs with JSON tags so that they can later be served as CRDs.
package config
