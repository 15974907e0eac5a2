package config

import (
	"errors"
	"fmt"
	"sort"
	"text/template"
)

// Source returns the Source with that name, or nil.
func (c *Config) Source(name string) *Source {
	for i := range c.Sources {
		if c.Sources[i].Metadata.Name == name {
			return &c.Sources[i]
		}
	}
	return nil
}

// Cluster returns the Cluster with that name, or nil.
func (c *Config) Cluster(name string) *Cluster {
	for i := range c.Clusters {
		if c.Clusters[i].Metadata.Name == name {
			return &c.Clusters[i]
		}
	}
	return nil
}

// App returns the App with that name, or nil.
func (c *Config) App(name string) *App {
	for i := range c.Apps {
		if c.Apps[i].Metadata.Name == name {
			return &c.Apps[i]
		}
	}
	return nil
}

// pathData is what an App's path template sees.
type pathData struct {
	Cluster struct {
		Name   string
		Labels map[string]string
	}
}

// PathFor resolves the App's path template for a cluster. A label the cluster does not have is
// an error naming it, never an empty path segment. The template passes the checks of Load
// first (field access, index, lower and upper only), whether or not the App came from Load; its
// output is bounded by MaxPathLength, and a resolved path that is empty, absolute, climbs out of
// the repository with ".." or holds a control character is an error.
func (a *App) PathFor(c *Cluster) (string, error) {
	tmpl, err := parsePath(a.Spec.Path)
	if err != nil {
		return "", fmt.Errorf("App/%s: spec.path: %w", a.Metadata.Name, err)
	}
	path, err := resolvePath(tmpl, c)
	if err != nil {
		return "", fmt.Errorf("App/%s: spec.path %q for Cluster/%s: %w", a.Metadata.Name, brief(a.Spec.Path), c.Metadata.Name, err)
	}
	return path, nil
}

// resolvePath executes a template parsePath accepted for a cluster, and checks the path it
// resolves to.
func resolvePath(tmpl *template.Template, c *Cluster) (string, error) {
	if key := missingLabel(pathLabelKeys(tmpl), c.Metadata.Labels); key != "" {
		return "", fmt.Errorf("the cluster has no label %q (its labels: %s)", key, labelKeys(c.Metadata.Labels))
	}
	var data pathData
	data.Cluster.Name = c.Metadata.Name
	data.Cluster.Labels = c.Metadata.Labels
	if data.Cluster.Labels == nil {
		data.Cluster.Labels = map[string]string{}
	}
	var out limitedWriter
	if err := tmpl.Execute(&out, data); err != nil {
		if errors.Is(err, errPathTooLong) {
			return "", errPathTooLong
		}
		return "", err
	}
	path := out.b.String()
	if problem := pathProblem(path); problem != "" {
		return "", fmt.Errorf("resolved path %q %s", path, problem)
	}
	return path, nil
}

// labelKeys lists the keys of a cluster's labels, sorted, or says there are none.
func labelKeys(labels map[string]string) string {
	if len(labels) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return listNames(keys)
}
