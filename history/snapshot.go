package history

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"compress/flate"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/internal/object"
)

// Snapshot is the rendered objects of one revision for one App on one cluster, as applied:
// what a rollback restores without Git.
type Snapshot struct {
	// Address is where the snapshot is stored ("snapshot:" and a SHA-256).
	Address string
	// Digest is the render's digest.
	Digest string
	// Objects are in apply order.
	Objects []*unstructured.Unstructured
}

// manifest is a snapshot as stored: the addresses of its objects.
type manifest struct {
	Digest  string   `json:"digest"`
	Objects []string `json:"objects"`
}

// PutSnapshot stores the objects of a render (digest and objects in apply order) and returns
// the snapshot's address. Each object is stored once, compressed, under the hash of its JSON,
// however many revisions and clusters share it; a Secret is encrypted (AES-256-GCM under the
// ledger's snapshot key) and addressed by an HMAC, so that neither its blob nor its address
// tells anything of its values.
func (l *Ledger) PutSnapshot(ctx context.Context, digest string, objects []*unstructured.Unstructured) (string, error) {
	// Retention's blob collection waits until the blobs are stored (see collectGarbage).
	l.gc.RLock()
	defer l.gc.RUnlock()
	m := manifest{Digest: digest, Objects: make([]string, 0, len(objects))}
	blobs := make([]Blob, 0, len(objects)+1)
	for _, obj := range objects {
		b, err := l.objectBlob(obj)
		if err != nil {
			return "", fmt.Errorf("snapshot %s: %w", object.IDOf(obj), err)
		}
		m.Objects = append(m.Objects, b.Address)
		if b.Data != nil {
			blobs = append(blobs, b)
		}
	}
	text, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	sum := sha256.Sum256(text)
	address := "snapshot:" + hex.EncodeToString(sum[:])
	if !l.stored.has(address, l.now()) {
		blobs = append(blobs, Blob{Address: address, Data: compress(text)})
	}
	if err := l.store.PutBlobs(ctx, blobs); err != nil {
		return "", err
	}
	for _, b := range blobs {
		l.stored.add(b.Address, l.now())
	}
	return address, nil
}

// objectBlob is one object as stored; its Data is nil when this process stored it already.
func (l *Ledger) objectBlob(obj *unstructured.Unstructured) (Blob, error) {
	text, err := json.Marshal(obj.Object)
	if err != nil {
		return Blob{}, err
	}
	if !object.IsSecret(obj) {
		sum := sha256.Sum256(text)
		address := "sha256:" + hex.EncodeToString(sum[:])
		if l.stored.has(address, l.now()) {
			return Blob{Address: address}, nil
		}
		return Blob{Address: address, Data: compress(text)}, nil
	}
	mac := hmac.New(sha256.New, l.keys.snapshot)
	mac.Write(text)
	address := "secret:" + hex.EncodeToString(mac.Sum(nil))
	if l.stored.has(address, l.now()) {
		return Blob{Address: address}, nil
	}
	sealed, err := l.encrypt(compress(text), address)
	if err != nil {
		return Blob{}, err
	}
	return Blob{Address: address, Data: sealed}, nil
}

// Snapshot reads a stored snapshot back, Secrets decrypted.
func (l *Ledger) Snapshot(ctx context.Context, address string) (*Snapshot, error) {
	data, err := l.store.Blob(ctx, address)
	if err != nil {
		return nil, err
	}
	text, err := decompress(data)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", address, err)
	}
	if sum := sha256.Sum256(text); "snapshot:"+hex.EncodeToString(sum[:]) != address {
		return nil, fmt.Errorf("snapshot %s: %w", address, ErrTampered)
	}
	var m manifest
	if err := json.Unmarshal(text, &m); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", address, err)
	}
	s := &Snapshot{Address: address, Digest: m.Digest, Objects: make([]*unstructured.Unstructured, 0, len(m.Objects))}
	for _, a := range m.Objects {
		obj, err := l.readObject(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", address, err)
		}
		s.Objects = append(s.Objects, obj)
	}
	return s, nil
}

func (l *Ledger) readObject(ctx context.Context, address string) (*unstructured.Unstructured, error) {
	data, err := l.store.Blob(ctx, address)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(address, "secret:") {
		if data, err = l.decrypt(data, address); err != nil {
			return nil, fmt.Errorf("object %s: %w", address, err)
		}
	}
	text, err := decompress(data)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", address, err)
	}
	// What is restored is what was recorded: a blob must match its address (a Secret's is
	// also bound to it by its encryption).
	if sum := sha256.Sum256(text); strings.HasPrefix(address, "sha256:") && "sha256:"+hex.EncodeToString(sum[:]) != address {
		return nil, fmt.Errorf("object %s: %w", address, ErrTampered)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(text); err != nil {
		return nil, fmt.Errorf("object %s: %w", address, err)
	}
	return obj, nil
}

func (l *Ledger) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(l.keys.snapshot)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// encrypt seals data, bound to its address: nonce, then ciphertext.
func (l *Ledger) encrypt(data []byte, address string) ([]byte, error) {
	aead, err := l.gcm()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, data, []byte(address)), nil
}

func (l *Ledger) decrypt(data []byte, address string) ([]byte, error) {
	aead, err := l.gcm()
	if err != nil {
		return nil, err
	}
	if len(data) < aead.NonceSize() {
		return nil, fmt.Errorf("encrypted object too short")
	}
	out, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(address))
	if err != nil {
		return nil, fmt.Errorf("decrypt (is this the ledger key the snapshot was written with?): %w", err)
	}
	return out, nil
}

// writers keeps flate writers for reuse: making one costs more than compressing an object.
var writers = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.DefaultCompression)
	return w
}}

func compress(data []byte) []byte {
	var buf bytes.Buffer
	w := writers.Get().(*flate.Writer)
	w.Reset(&buf)
	_, _ = w.Write(data)
	_ = w.Close()
	writers.Put(w)
	return buf.Bytes()
}

// ErrTampered: stored content does not match what the ledger recorded of it.
var ErrTampered = errors.New("does not match what the ledger recorded: the database was edited")

// maxObjectBytes bounds what one stored object may inflate to.
const maxObjectBytes = 64 << 20

func decompress(data []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(data))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	if len(out) > maxObjectBytes {
		return nil, fmt.Errorf("decompress: larger than %d bytes", maxObjectBytes)
	}
	return out, nil
}
