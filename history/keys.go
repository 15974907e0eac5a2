package history

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Keys are the ledger's secrets, derived from one key file: seal signs entries and marks,
// snapshot encrypts and addresses Secret objects in snapshots, mask stands for Secret values in
// diffs (equal values, equal tokens; nothing about a value learnt from its token).
type Keys struct {
	seal, snapshot, mask []byte
}

// LoadKeys reads the ledger key file at path, creating it (32 random bytes, hex, mode 0600)
// when it does not exist. A key file that others can read is refused: whoever holds it can
// reseal an edited ledger and read Secrets in snapshots.
func LoadKeys(path string) (*Keys, error) {
	master, err := readKey(path)
	if errors.Is(err, os.ErrNotExist) {
		master, err = createKey(path)
	}
	if err != nil {
		return nil, err
	}
	return deriveKeys(master), nil
}

// deriveKeys derives the ledger's keys from the key file's.
func deriveKeys(master []byte) *Keys {
	derive := func(purpose string) []byte {
		mac := hmac.New(sha256.New, master)
		mac.Write([]byte(purpose))
		return mac.Sum(nil)
	}
	return &Keys{seal: derive("flotilla ledger seal v1"), snapshot: derive("flotilla snapshot encryption v1"), mask: derive("flotilla diff mask v1")}
}

func readKey(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("ledger key %s is readable by others (mode %v): run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the ledger key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("ledger key %s is not 64 hex digits; it cannot be replaced without losing the ledger's seals and the snapshots' Secrets", path)
	}
	return key, nil
}

func createKey(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make the ledger key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process made it first
		return readKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create the ledger key: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("write the ledger key: %w", err)
	}
	return key, nil
}

// Seal is the entry's seal: HMAC-SHA256, under the seal key, of every column but the seal,
// each length-prefixed, and of the seal of the entry before.
func (k *Keys) Seal(e *Entry) string {
	return k.sign("entry",
		strconv.FormatInt(e.Seq, 10), strconv.FormatInt(e.Change, 10), string(e.Phase), strconv.FormatInt(e.At.UnixNano(), 10),
		e.App, e.Cluster, string(e.Trigger), e.Revision, e.Author, string(e.Result), string(e.Body), e.PrevSeal)
}

// SealMark is a mark's seal.
func (k *Keys) SealMark(kind string, m Mark) string {
	return k.sign("mark", kind, strconv.FormatInt(m.Seq, 10), m.Seal)
}

func (k *Keys) sign(fields ...string) string {
	mac := hmac.New(sha256.New, k.seal)
	for _, f := range fields {
		fmt.Fprintf(mac, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// maskToken stands for a Secret value in a diff.
func (k *Keys) maskToken(value any) string {
	mac := hmac.New(sha256.New, k.mask)
	fmt.Fprint(mac, value)
	return hex.EncodeToString(mac.Sum(nil))[:8]
}
