package gitrepo

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/flotilla-dev/flotilla/config"
)

// Signature statuses.
const (
	// SignatureNotChecked: the Source has no signature policy.
	SignatureNotChecked = "not-checked"
	// SignatureVerified: signed by one of the Source's keys.
	SignatureVerified = "verified"
	// SignatureUnsigned: the policy requires a signature and there is none.
	SignatureUnsigned = "unsigned"
	// SignatureUntrusted: signed, but not by one of the Source's keys, or the signature is bad.
	SignatureUntrusted = "untrusted"
)

// SignatureCheck is the outcome of a Source's signature policy on a revision.
type SignatureCheck struct {
	Status string `json:"status"`
	// Object is what was checked: "commit" or "tag".
	Object string `json:"object,omitempty"`
	// Kind is "openpgp" or "ssh".
	Kind string `json:"kind,omitempty"`
	// Signer identifies the key: an OpenPGP identity and key ID, or an SSH key fingerprint.
	Signer string `json:"signer,omitempty"`
	// Reason explains a refusal.
	Reason string `json:"reason,omitempty"`
}

// SignatureError refuses a revision that the Source's signature policy does not accept.
type SignatureError struct {
	Source string
	Commit string
	Check  SignatureCheck
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("revision %s is refused: %s %s: %s", e.Commit, e.Check.Object, e.Check.Status, e.Check.Reason)
}

// trustedKeys are the keys a Source's policy accepts.
type trustedKeys struct {
	openpgp openpgp.EntityList
	ssh     []ssh.PublicKey
}

func loadTrustedKeys(v *config.Verification) (*trustedKeys, error) {
	keys := &trustedKeys{}
	for _, file := range v.OpenPGPKeys {
		f, err := os.Open(file)
		if err != nil {
			return nil, inField("spec.verify.openpgpKeys", err)
		}
		list, err := openpgp.ReadArmoredKeyRing(f)
		f.Close()
		if err != nil {
			return nil, inField("spec.verify.openpgpKeys", fmt.Errorf("%s: not an armored OpenPGP public key: %w", file, err))
		}
		keys.openpgp = append(keys.openpgp, list...)
	}
	for _, file := range v.SSHKeys {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, inField("spec.verify.sshKeys", err)
		}
		for rest := b; len(bytes.TrimSpace(rest)) > 0; {
			var pub ssh.PublicKey
			pub, _, _, rest, err = ssh.ParseAuthorizedKey(rest)
			if err != nil {
				return nil, inField("spec.verify.sshKeys", fmt.Errorf("%s: not an SSH public key: %w", file, err))
			}
			keys.ssh = append(keys.ssh, pub)
		}
	}
	return keys, nil
}

// verifySignature checks a signature over payload against the trusted keys.
func (k *trustedKeys) verifySignature(object, signature string, payload []byte) SignatureCheck {
	check := SignatureCheck{Object: object}
	switch {
	case signature == "":
		check.Status, check.Reason = SignatureUnsigned, "the "+object+" carries no signature"
	case strings.Contains(signature, "-----BEGIN SSH SIGNATURE-----"):
		check.Kind = "ssh"
		k.verifySSH(&check, signature, payload)
	case strings.Contains(signature, "-----BEGIN PGP SIGNATURE-----"):
		check.Kind = "openpgp"
		k.verifyOpenPGP(&check, signature, payload)
	default:
		check.Status, check.Reason = SignatureUntrusted, "the signature is neither OpenPGP nor SSH (X.509 signatures are not supported)"
	}
	return check
}

func (k *trustedKeys) verifyOpenPGP(check *SignatureCheck, signature string, payload []byte) {
	if len(k.openpgp) == 0 {
		check.Status, check.Reason = SignatureUntrusted, "OpenPGP signature, but the Source trusts no OpenPGP key"
		return
	}
	entity, err := openpgp.CheckArmoredDetachedSignature(k.openpgp, bytes.NewReader(payload), strings.NewReader(signature), nil)
	if err != nil {
		check.Status, check.Reason = SignatureUntrusted, "OpenPGP signature not made by a trusted key: "+err.Error()
		return
	}
	check.Status = SignatureVerified
	check.Signer = fmt.Sprintf("%X", entity.PrimaryKey.Fingerprint)
	for name := range entity.Identities {
		check.Signer = name + " " + check.Signer
		break
	}
}

func (k *trustedKeys) verifySSH(check *SignatureCheck, signature string, payload []byte) {
	sig, err := sshsig.Unarmor([]byte(signature))
	if err != nil {
		check.Status, check.Reason = SignatureUntrusted, "malformed SSH signature: "+err.Error()
		return
	}
	if len(k.ssh) == 0 {
		check.Status, check.Reason = SignatureUntrusted, "SSH signature, but the Source trusts no SSH key"
		return
	}
	for _, pub := range k.ssh {
		if err := sshsig.Verify(bytes.NewReader(payload), sig, pub, sig.HashAlgorithm, "git"); err == nil {
			check.Status, check.Signer = SignatureVerified, ssh.FingerprintSHA256(pub)
			return
		}
	}
	check.Status = SignatureUntrusted
	check.Reason = "SSH signature by " + fingerprint(sig.PublicKey) + ", which is not a trusted key"
}

func fingerprint(pub ssh.PublicKey) string {
	if pub == nil {
		return "an unknown key"
	}
	sum := sha256.Sum256(pub.Marshal())
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// checkCommit verifies a commit's own signature.
func (k *trustedKeys) checkCommit(c *object.Commit) (SignatureCheck, error) {
	payload, err := encodedWithout(c.EncodeWithoutSignature)
	if err != nil {
		return SignatureCheck{}, err
	}
	return k.verifySignature("commit", c.PGPSignature, payload), nil
}

// checkTag verifies an annotated tag's signature; a lightweight tag has none.
func (k *trustedKeys) checkTag(t *object.Tag) (SignatureCheck, error) {
	if t == nil {
		return SignatureCheck{Object: "tag", Status: SignatureUnsigned, Reason: "the tag is lightweight, so it carries no signature"}, nil
	}
	payload, err := encodedWithout(t.EncodeWithoutSignature)
	if err != nil {
		return SignatureCheck{}, err
	}
	return k.verifySignature("tag", t.PGPSignature, payload), nil
}

func encodedWithout(encode func(plumbing.EncodedObject) error) ([]byte, error) {
	obj := &plumbing.MemoryObject{}
	if err := encode(obj); err != nil {
		return nil, fmt.Errorf("encode object for signature check: %w", err)
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
