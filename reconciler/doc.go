// Package reconciler brings each App × Cluster to the revision Git holds. Reconcile does one
// App on one cluster, in named stages that take each other's results in the order the data
// flows (reconcile.go lists them; each has a file: render.go with connect.go, guard.go,
// plan.go, apply.go, record.go, health.go). Sync selects the pairs a configuration and options
// name, fetches each Source once and reconciles the pairs several at once; Diff runs the same
// stages up to the guard and shows what a sync would change. What a pass does is told to an
// Observer as Events (events.go), which the CLI prints as progress lines; what each reconcile
// changed goes to a Recorder (today the cluster's inventory).
package reconciler
