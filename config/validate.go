package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/Masterminds/semver/v3"
	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultInterval is how often a Source is polled when it does not say.
const DefaultInterval = time.Minute

// MinInterval is the shortest poll interval allowed, to spare Git servers.
const MinInterval = 10 * time.Second

var (
	namePattern   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)
	scpURLPattern = regexp.MustCompile(`^([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:[^/\\]`)
)

// objectProblems collects the problems of one object, with its file and field lines.
type objectProblems struct {
	l      *loader
	origin Origin
	object string
}

func (o objectProblems) add(field, format string, args ...any) {
	o.l.add(Problem{File: o.origin.File, Line: o.origin.LineOf(field), Object: o.object, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l *loader) validate() {
	sources := map[string]Origin{}
	for i := range l.cfg.Sources {
		s := &l.cfg.Sources[i]
		p := objectProblems{l: l, origin: s.Origin, object: KindSource + "/" + s.Metadata.Name}
		checkName(p, s.Metadata.Name, sources, s.Origin)
		s.Spec.validate(p)
		s.Spec.resolvePaths(filepath.Dir(s.Origin.File))
	}
	clusters := map[string]Origin{}
	for i := range l.cfg.Clusters {
		c := &l.cfg.Clusters[i]
		p := objectProblems{l: l, origin: c.Origin, object: KindCluster + "/" + c.Metadata.Name}
		checkName(p, c.Metadata.Name, clusters, c.Origin)
		for key, value := range c.Metadata.Labels {
			for _, msg := range validation.IsQualifiedName(key) {
				p.add("metadata.labels."+key, "label key: %s", msg)
			}
			for _, msg := range validation.IsValidLabelValue(value) {
				p.add("metadata.labels."+key, "label value %q: %s", brief(value), msg)
			}
		}
		if c.Spec.Kubeconfig == "" {
			p.add("spec.kubeconfig", "is required: the kubeconfig file to reach this cluster")
		} else {
			c.Spec.Kubeconfig = resolve(filepath.Dir(c.Origin.File), c.Spec.Kubeconfig)
		}
	}
	apps := map[string]Origin{}
	for i := range l.cfg.Apps {
		a := &l.cfg.Apps[i]
		p := objectProblems{l: l, origin: a.Origin, object: KindApp + "/" + a.Metadata.Name}
		checkName(p, a.Metadata.Name, apps, a.Origin)
		a.Spec.validate(p, sources)
		a.Spec.checkPathForClusters(p, l.cfg.Clusters)
	}
}

func checkName(p objectProblems, name string, seen map[string]Origin, origin Origin) {
	switch {
	case name == "":
		p.add("metadata.name", "is required")
		return
	case len(name) > 63 || !namePattern.MatchString(name):
		p.add("metadata.name", "%q is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", brief(name))
	}
	if first, dup := seen[name]; dup {
		p.add("metadata.name", "%q is defined twice; first at %s:%d", brief(name), first.File, first.Line)
		return
	}
	seen[name] = origin
}

func (s *SourceSpec) validate(p objectProblems) {
	s.validateURL(p)
	refs := 0
	for _, set := range []bool{s.Ref.Branch != "", s.Ref.Tag != "", s.Ref.Semver != "", s.Ref.Commit != ""} {
		if set {
			refs++
		}
	}
	if refs != 1 {
		p.add("spec.ref", "set exactly one of branch, tag, semver or commit (found %d)", refs)
	}
	if s.Ref.Semver != "" {
		if _, err := semver.NewConstraint(s.Ref.Semver); err != nil {
			p.add("spec.ref.semver", "%q is not a semver range: %v", brief(s.Ref.Semver), err)
		}
	}
	if s.Ref.Commit != "" && !commitPattern.MatchString(s.Ref.Commit) {
		p.add("spec.ref.commit", "%q is not a full 40-character lowercase commit SHA", brief(s.Ref.Commit))
	}
	if s.Interval.Duration == 0 {
		s.Interval.Duration = DefaultInterval
	} else if s.Interval.Duration < MinInterval {
		p.add("spec.interval", "%s is shorter than the minimum %s", s.Interval.Duration, MinInterval)
	}
	if s.Auth != nil {
		s.Auth.validate(p, s.URL)
	}
	if v := s.Verify; v != nil {
		if v.Mode != VerifyCommit && v.Mode != VerifyTag {
			p.add("spec.verify.mode", "%q is not %q or %q", brief(v.Mode), VerifyCommit, VerifyTag)
		}
		if v.Mode == VerifyTag && s.Ref.Tag == "" && s.Ref.Semver == "" {
			p.add("spec.verify.mode", "tag verification needs spec.ref.tag or spec.ref.semver")
		}
		if len(v.OpenPGPKeys)+len(v.SSHKeys) == 0 {
			p.add("spec.verify", "list at least one key in openpgpKeys or sshKeys")
		}
	}
}

func (s *SourceSpec) validateURL(p objectProblems) {
	if s.URL == "" {
		p.add("spec.url", "is required")
		return
	}
	if strings.IndexFunc(s.URL, unicode.IsControl) >= 0 {
		p.add("spec.url", "holds a control character")
		return
	}
	if scpURLPattern.MatchString(s.URL) && !strings.Contains(s.URL, "://") {
		// user@host:path, SSH. Written user:password@host:path, it reads as host "user".
		colon, at := strings.IndexByte(s.URL, ':'), strings.IndexByte(s.URL, '@')
		if at > colon && !strings.Contains(s.URL[colon:at], "/") {
			p.add("spec.url", "holds a password (user:password@host:path); credentials are never inline: use spec.auth")
		}
		return
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		p.add("spec.url", "not a URL: %s", urlParseProblem(s.URL))
		return
	}
	switch u.Scheme {
	case "https", "http", "ssh", "file":
	default:
		p.add("spec.url", "scheme %q is not supported: use https, http, ssh, file or user@host:path", brief(u.Scheme))
	}
	if u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			p.add("spec.url", "holds a password; credentials are never inline: use spec.auth")
		}
	}
	if u.Scheme != "file" && strings.Contains(u.EscapedPath()+u.RawQuery+u.EscapedFragment(), "@") {
		// https://user:12/secret@host/ parses as host "user:12": the password would show.
		p.add("spec.url", "has an '@' after the host: credentials are never inline (use spec.auth), and an '@' that belongs in the path is written %%40")
	}
}

// urlParseProblem says why rawURL does not parse, from its redacted text only: net/url's
// messages quote parts of the URL (a port, an escape), which could be parts of a password.
func urlParseProblem(rawURL string) string {
	redacted := RedactURL(rawURL)
	if _, err := url.Parse(redacted); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%q does not parse before the host (a password holding '/', ':' or '@'?); credentials are never inline: use spec.auth", redacted)
}

func (a *GitAuth) validate(p objectProblems, rawURL string) {
	kinds := 0
	if a.Basic != nil {
		kinds++
		if a.Basic.Username == "" {
			p.add("spec.auth.basic.username", "is required")
		}
		a.Basic.Password.validate(p, "spec.auth.basic.password")
	}
	if a.Token != nil {
		kinds++
		a.Token.validate(p, "spec.auth.token")
	}
	if a.SSH != nil {
		kinds++
		a.SSH.PrivateKey.validate(p, "spec.auth.ssh.privateKey")
		if a.SSH.Passphrase != nil {
			a.SSH.Passphrase.validate(p, "spec.auth.ssh.passphrase")
		}
		if a.SSH.KnownHosts == "" && !a.SSH.InsecureIgnoreHostKey {
			p.add("spec.auth.ssh.knownHosts", "is required: host keys are checked against a known_hosts file (insecureIgnoreHostKey: true turns that off, for tests only)")
		}
	}
	if kinds > 1 {
		p.add("spec.auth", "set only one of basic, token or ssh")
	}
	if a.Basic != nil || a.Token != nil {
		if u, err := url.Parse(rawURL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
			p.add("spec.auth", "refusing to send credentials over plain http:// to %s; use https://", u.Hostname())
		}
	}
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func (r SecretRef) validate(p objectProblems, field string) {
	if (r.File == "") == (r.Env == "") {
		p.add(field, "set exactly one of file or env")
	}
}

func (s *SourceSpec) resolvePaths(dir string) {
	if a := s.Auth; a != nil {
		if a.Basic != nil {
			a.Basic.Password.File = resolve(dir, a.Basic.Password.File)
		}
		if a.Token != nil {
			a.Token.File = resolve(dir, a.Token.File)
		}
		if a.SSH != nil {
			a.SSH.PrivateKey.File = resolve(dir, a.SSH.PrivateKey.File)
			if a.SSH.Passphrase != nil {
				a.SSH.Passphrase.File = resolve(dir, a.SSH.Passphrase.File)
			}
			a.SSH.KnownHosts = resolve(dir, a.SSH.KnownHosts)
		}
	}
	if v := s.Verify; v != nil {
		for i := range v.OpenPGPKeys {
			v.OpenPGPKeys[i] = resolve(dir, v.OpenPGPKeys[i])
		}
		for i := range v.SSHKeys {
			v.SSHKeys[i] = resolve(dir, v.SSHKeys[i])
		}
	}
	if strings.HasPrefix(s.URL, "file://") && !strings.HasPrefix(s.URL, "file:///") {
		s.URL = "file://" + resolve(dir, strings.TrimPrefix(s.URL, "file://"))
	}
}

// resolve makes a relative path relative to dir and expands a leading ~/ to the home folder;
// empty stays empty.
func resolve(dir, path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

func (a *AppSpec) validate(p objectProblems, sources map[string]Origin) {
	if a.Source == "" {
		p.add("spec.source", "is required: the name of a Source")
	} else if _, ok := sources[a.Source]; !ok {
		p.add("spec.source", "Source %q is not defined", brief(a.Source))
	}
	if a.Path == "" {
		p.add("spec.path", "is required: the kustomization folder in the repository")
	} else if _, err := parsePath(a.Path); err != nil {
		p.add("spec.path", "%v", err)
	}
	if a.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(a.Namespace) {
			p.add("spec.namespace", "%q is not a namespace name: %s", brief(a.Namespace), msg)
		}
	}
	validateSelector(p, "spec.clusterSelector", a.ClusterSelector)
	if n := a.Sync.MaxPrunePercent; n < 0 || n > 100 {
		p.add("spec.sync.maxPrunePercent", "%d is not a percentage from 1 to 100", n)
	}
	switch a.Drift.Mode {
	case "":
		a.Drift.Mode = DriftWarn
	case DriftEnforce, DriftWarn, DriftIgnore:
	default:
		p.add("spec.drift.mode", "%q is not one of enforce, warn, ignore", brief(a.Drift.Mode))
	}
	for i, m := range a.Drift.IgnoreManagers {
		if strings.TrimSpace(m) == "" {
			p.add(fmt.Sprintf("spec.drift.ignoreManagers[%d]", i), "is empty: name a field manager (kubectl managedFields shows them)")
		}
	}
	for i, rule := range a.Drift.Ignore {
		field := fmt.Sprintf("spec.drift.ignore[%d]", i)
		if rule.Kind == "" {
			p.add(field+".kind", "is required")
		}
		if len(rule.Fields) == 0 {
			p.add(field+".fields", "is required: JSON pointers such as /spec/replicas")
		}
		for j, f := range rule.Fields {
			if !strings.HasPrefix(f, "/") || f == "/" {
				p.add(fmt.Sprintf("%s.fields[%d]", field, j), "%q is not a JSON pointer to a field, such as /spec/replicas", brief(f))
			}
		}
	}
	validateWaves(p, a.Rollout.Waves)
	validateWindows(p, a.Windows)
}

// validateWaves checks spec.rollout.waves: named once each, selectors that parse.
func validateWaves(p objectProblems, list []Wave) {
	waves := map[string]bool{}
	for i, w := range list {
		field := fmt.Sprintf("spec.rollout.waves[%d]", i)
		if w.Name == "" {
			p.add(field+".name", "is required")
		} else if waves[w.Name] {
			p.add(field+".name", "wave %q is listed twice", brief(w.Name))
		}
		waves[w.Name] = true
		validateSelector(p, field+".clusterSelector", w.ClusterSelector)
		if w.MaxParallel < 0 {
			p.add(field+".maxParallel", "must be 0 (every cluster of the wave at once) or more")
		}
	}
}

// validateWindows checks spec.windows: kind, a cron schedule of times of day, a positive
// duration, a known time zone, a selector that parses.
func validateWindows(p objectProblems, list []SyncWindow) {
	for i, w := range list {
		field := fmt.Sprintf("spec.windows[%d]", i)
		if w.Kind != WindowAllow && w.Kind != WindowDeny {
			p.add(field+".kind", "%q is not %q or %q", brief(w.Kind), WindowAllow, WindowDeny)
		}
		if _, err := cron.ParseStandard(w.Schedule); err != nil {
			p.add(field+".schedule", "%q is not a cron schedule (minute hour day-of-month month day-of-week, or @daily…): %v", brief(w.Schedule), err)
		} else if strings.HasPrefix(w.Schedule, "CRON_TZ=") || strings.HasPrefix(w.Schedule, "TZ=") {
			p.add(field+".schedule", "give the time zone in timeZone, not in the schedule")
		} else if strings.HasPrefix(w.Schedule, "@every") {
			p.add(field+".schedule", "@every counts from whenever it is asked, so a window would never be found open: give times of day (e.g. \"0 */2 * * *\")")
		}
		if w.Duration.Duration <= 0 {
			p.add(field+".duration", "is required and must be positive, e.g. 2h")
		}
		if w.TimeZone != "" {
			if _, err := time.LoadLocation(w.TimeZone); err != nil {
				p.add(field+".timeZone", "%q is not a time zone of the IANA database (e.g. Europe/Berlin, America/New_York, UTC)", brief(w.TimeZone))
			}
		}
		validateSelector(p, field+".clusterSelector", w.ClusterSelector)
	}
}

func validateSelector(p objectProblems, field string, sel metav1.LabelSelector) {
	if _, err := metav1.LabelSelectorAsSelector(&sel); err != nil {
		p.add(field, "%v", err)
	}
}
