package registry

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// Layer is a blob of a repository read through go-containerregistry's
// remote.Layer: Compressed streams it as stored, Uncompressed also undoes
// gzip or zstd (go-containerregistry detects which). Every byte is checked
// against the digest: a stream whose content does not match fails with
// ErrIntegrity, so a reader that reads to EOF (io.Copy(io.Discard, r)) has
// read only what the digest names.
type Layer struct {
	v1.Layer
	checked *checkedLayer
}

// Layer returns the blob desc of repo as a Layer.
func (c *Client) Layer(ctx context.Context, repo name.Repository, desc v1.Descriptor) (*Layer, error) {
	opts, err := c.RemoteOptions(ctx, repo)
	if err != nil {
		return nil, err
	}
	rl, err := remote.Layer(repo.Digest(desc.Digest.String()), opts...)
	if err != nil {
		return nil, c.translate(err, repo)
	}
	cl := &checkedLayer{Layer: rl, c: c, repo: repo, desc: desc}
	l, err := partial.CompressedToLayer(cl)
	if err != nil {
		return nil, err
	}
	return &Layer{Layer: l, checked: cl}, nil
}

// MaxZstdWindow bounds the window a zstd layer may declare, which its
// decoder allocates: 128 MiB, the zstd command's own default limit
// (go-containerregistry's decoder allows 512 MiB).
const MaxZstdWindow = 128 << 20

// Uncompressed streams the layer's content. A decompression error caused by
// corrupt bytes is reported as what it is: ErrIntegrity, naming the blob.
// It undoes gzip and zstd as go-containerregistry does (by their magic
// numbers), by hand only to bound zstd's window (MaxZstdWindow).
func (l *Layer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(rc)
	magic, err := br.Peek(4)
	if err != nil && err != io.EOF {
		rc.Close()
		return nil, l.checked.explain(err)
	}
	out := readCloser{br, rc}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, l.checked.explain(err)
		}
		out.Reader = zr
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(MaxZstdWindow), zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, err
		}
		out = readCloser{zr, closerFunc(func() error { zr.Close(); return rc.Close() })}
	}
	return &uncompressedReader{rc: out, l: l.checked}, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

type uncompressedReader struct {
	rc io.ReadCloser
	l  *checkedLayer
}

func (r *uncompressedReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return n, &Error{Kind: ErrTooLarge, Host: r.l.repo.RegistryStr(), Repo: r.l.repo.RepositoryStr(),
			Subject: "layer " + r.l.desc.Digest.String(), Err: fmt.Errorf("its zstd window is over the %s limit", units.BytesSize(MaxZstdWindow))}
	}
	if err != nil && err != io.EOF {
		err = r.l.explain(err)
	}
	return n, err
}

func (r *uncompressedReader) Close() error { return r.rc.Close() }

// checkedLayer wraps a remote layer: registry answers become *Error, and
// the bytes read are hashed so a mismatch can be named (go-containerregistry
// reports one only as an untyped error at the end of the stream).
type checkedLayer struct {
	v1.Layer
	c    *Client
	repo name.Repository
	desc v1.Descriptor

	mu     sync.Mutex
	reader *checkedReader // the last stream opened
}

// MediaType is the descriptor's (remote.Layer cannot know it).
func (l *checkedLayer) MediaType() (types.MediaType, error) {
	if l.desc.MediaType != "" {
		return l.desc.MediaType, nil
	}
	return types.OCILayer, nil
}

// Compressed streams the blob as stored.
func (l *checkedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, l.c.translate(err, l.repo)
	}
	r := &checkedReader{rc: rc, l: l, h: sha256.New()}
	l.mu.Lock()
	l.reader = r
	l.mu.Unlock()
	return r, nil
}

// explain replaces a decompression error with ErrIntegrity when the
// compressed bytes do not match the digest: it reads the rest of the
// stored stream to find out.
func (l *checkedLayer) explain(err error) error {
	l.mu.Lock()
	r := l.reader
	l.mu.Unlock()
	if r == nil {
		return err
	}
	_, _ = io.Copy(io.Discard, r)
	if r.corrupt() {
		return integrityError(l.repo, l.desc)
	}
	return err
}

// checkedReader hashes the stored bytes as they are read.
type checkedReader struct {
	rc io.ReadCloser
	l  *checkedLayer

	mu  sync.Mutex
	h   hash.Hash
	n   int64
	bad bool
}

func (r *checkedReader) Read(p []byte) (int, error) {
	// Reads are serialised: a decompressor may read from its own goroutine
	// while explain drains the stream after a failure.
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if err == nil || err == io.EOF {
		return n, err
	}
	// go-containerregistry fails a stream that does not match its digest
	// when it reaches the end; other errors (a dropped connection) come
	// before all bytes are read.
	if r.n == r.l.desc.Size && r.l.desc.Digest.Algorithm == "sha256" && hex.EncodeToString(r.h.Sum(nil)) != r.l.desc.Digest.Hex {
		r.bad = true
		return n, integrityError(r.l.repo, r.l.desc)
	}
	return n, r.l.c.translate(err, r.l.repo)
}

func (r *checkedReader) corrupt() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}

func (r *checkedReader) Close() error { return r.rc.Close() }

func integrityError(repo name.Repository, desc v1.Descriptor) error {
	return &Error{Kind: ErrIntegrity, Host: repo.RegistryStr(), Repo: repo.RepositoryStr(), Subject: "blob " + desc.Digest.String()}
}
