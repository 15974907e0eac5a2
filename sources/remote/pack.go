package remote

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// PackError refuses a packfile whose objects would inflate past the limits.
type PackError struct {
	Reason string
}

func (e *PackError) Error() string { return "refused the remote base's packfile: " + e.Reason }

// checkPack reads a packfile's objects once, before go-git stores any of them, and refuses it
// if an object would inflate to more than maxObject bytes or all of them to more than maxTotal:
// the download is bounded, but a few kilobytes of zlib or of delta instructions can stand for
// gigabytes, and go-git would inflate them all into memory. A delta's size is the one its
// header announces for the object it builds; an object that inflates to more than its header
// says is refused.
func checkPack(pack []byte, maxObject, maxTotal int64) error {
	scanner := packfile.NewScanner(bytes.NewReader(pack))
	_, count, err := scanner.Header()
	if err != nil {
		return err
	}
	total := int64(0)
	for i := uint32(0); i < count; i++ {
		header, err := scanner.NextObjectHeader()
		if err != nil {
			return err
		}
		if header.Length > maxObject {
			return &PackError{Reason: fmt.Sprintf("an object of %d bytes is over the limit of %d for one file", header.Length, maxObject)}
		}
		delta := header.Type == plumbing.OFSDeltaObject || header.Type == plumbing.REFDeltaObject
		w := &inflated{max: header.Length, keep: delta}
		if _, _, err := scanner.NextObject(w); err != nil {
			if errors.Is(err, errInflatesPastHeader) {
				return &PackError{Reason: "an object inflates to more than its header says"}
			}
			return err
		}
		size := header.Length
		if delta {
			if size, err = deltaTargetSize(w.data); err != nil {
				return err
			}
			if size > maxObject {
				return &PackError{Reason: fmt.Sprintf("a delta builds an object of %d bytes, over the limit of %d for one file", size, maxObject)}
			}
		}
		if total += size; total > maxTotal {
			return &PackError{Reason: fmt.Sprintf("its objects inflate to more than %d bytes", maxTotal)}
		}
	}
	return nil
}

var errInflatesPastHeader = errors.New("inflates past its header")

// inflated counts what an object inflates to, keeping the bytes of a delta.
type inflated struct {
	max  int64
	n    int64
	keep bool
	data []byte
}

func (w *inflated) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if w.n > w.max {
		return 0, errInflatesPastHeader
	}
	if w.keep {
		w.data = append(w.data, p...)
	}
	return len(p), nil
}

// deltaTargetSize reads the size of the object a delta builds: the second of the two
// little-endian base-128 numbers that start it (the first is the base's size).
func deltaTargetSize(delta []byte) (int64, error) {
	r := bytes.NewReader(delta)
	if _, err := readLEB128(r); err != nil {
		return 0, err
	}
	return readLEB128(r)
}

func readLEB128(r io.ByteReader) (int64, error) {
	var v int64
	for shift := uint(0); shift < 63; shift += 7 {
		b, err := r.ReadByte()
		if err != nil {
			return 0, &PackError{Reason: "a delta without a size"}
		}
		v |= int64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, &PackError{Reason: "a delta size that does not fit 63 bits"}
}
