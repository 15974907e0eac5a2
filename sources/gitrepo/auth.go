package gitrepo

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/flotilla-dev/flotilla/config"
)

// credentials are a Source's transport auth and the secret strings that must never appear in
// an error or log line.
type credentials struct {
	auth    transport.AuthMethod
	secrets []string
}

// readSecret returns the value a SecretRef points at, with a trailing newline removed. Errors
// name the file or variable, never the value.
func readSecret(ref config.SecretRef) (string, error) {
	switch {
	case ref.File != "":
		b, err := os.ReadFile(ref.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case ref.Env != "":
		v, ok := os.LookupEnv(ref.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set: set it where flotilla runs, or name a file instead", ref.Env)
		}
		return v, nil
	}
	return "", errors.New("secret reference names neither a file nor an environment variable")
}

// credentialsFor builds the transport auth of a Source.
func credentialsFor(src *config.Source) (credentials, error) {
	a := src.Spec.Auth
	if a == nil {
		return credentials{}, nil
	}
	switch {
	case a.Basic != nil:
		password, err := readSecret(a.Basic.Password)
		if err != nil {
			return credentials{}, inField("spec.auth.basic.password", err)
		}
		return credentials{auth: &githttp.BasicAuth{Username: a.Basic.Username, Password: password}, secrets: []string{password}}, nil
	case a.Token != nil:
		token, err := readSecret(*a.Token)
		if err != nil {
			return credentials{}, inField("spec.auth.token", err)
		}
		return credentials{auth: &githttp.TokenAuth{Token: token}, secrets: []string{token}}, nil
	case a.SSH != nil:
		return sshCredentials(src.Spec.URL, a.SSH)
	}
	return credentials{}, nil
}

func sshCredentials(rawURL string, a *config.SSHAuth) (credentials, error) {
	key, err := readSecret(a.PrivateKey)
	if err != nil {
		return credentials{}, inField("spec.auth.ssh.privateKey", err)
	}
	creds := credentials{secrets: []string{key}}
	passphrase := ""
	if a.Passphrase != nil {
		if passphrase, err = readSecret(*a.Passphrase); err != nil {
			return credentials{}, inField("spec.auth.ssh.passphrase", err)
		}
		creds.secrets = append(creds.secrets, passphrase)
	}
	user := a.User
	if user == "" {
		user = urlUser(rawURL)
	}
	keys, err := gitssh.NewPublicKeys(user, []byte(key), passphrase)
	if err != nil {
		return credentials{}, inField("spec.auth.ssh.privateKey", fmt.Errorf("cannot parse the key (wrong passphrase?): %w", errors.New(scrub(err.Error(), creds.secrets))))
	}
	if a.InsecureIgnoreHostKey {
		keys.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // opted into by the Source, for tests
	} else {
		callback, err := knownhosts.New(a.KnownHosts)
		if err != nil {
			return credentials{}, inField("spec.auth.ssh.knownHosts", err)
		}
		keys.HostKeyCallback = callback
	}
	creds.auth = keys
	return creds, nil
}

// urlUser is the user of an ssh:// or user@host:path URL, or "git".
func urlUser(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.User != nil && u.User.Username() != "" {
		return u.User.Username()
	}
	if at := strings.Index(rawURL, "@"); at > 0 && !strings.Contains(rawURL[:at], "/") && !strings.Contains(rawURL, "://") {
		return rawURL[:at]
	}
	return "git"
}

// scrub replaces every secret in s.
func scrub(s string, secrets []string) string {
	for _, secret := range secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
		for _, line := range strings.Split(secret, "\n") { // a multi-line key quoted line by line
			if line = strings.TrimSpace(line); len(line) >= 16 {
				s = strings.ReplaceAll(s, line, "[redacted]")
			}
		}
	}
	return s
}

// redactedError is an error whose message had secrets removed. It keeps the original for
// errors.Is and errors.As, but its text is the scrubbed one.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (c credentials) redact(err error) error {
	if err == nil || len(c.secrets) == 0 {
		return err
	}
	return &redactedError{msg: scrub(err.Error(), c.secrets), err: err}
}
