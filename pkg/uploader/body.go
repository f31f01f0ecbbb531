// Package uploader stages a new server EXE on a Web Connection server: a
// multipart POST to UploadExe.wc (wc-protocol.md §1.2) with an exact
// Content-Length, streamed from disk and replayable by seeking, then a strict
// check of the reply (§3.2), with retries for failures that say nothing about
// the upload itself (a reset connection, a 502/503 from a proxy).
package uploader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrChanged says a file being uploaded changed after it was read.
var ErrChanged = errors.New("the EXE changed during the deploy")

// Body is the multipart request body: the EXE in a part named "File" and
// optionally a DLL in a part named "Dll". Only the small framing is held in
// memory; file bytes are read from disk at the position asked for, so the
// body can be replayed by Seek (NTLM handshakes, retries) without buffering.
//
// A Body is not safe for concurrent use, but Clone gives independent readers
// over the same files.
type Body struct {
	src    *source
	off    int64
	owner  bool // Close releases the files
	closed atomic.Bool
}

// source is what all clones of a Body share.
type source struct {
	segs        []segment
	size        int64
	contentType string

	mu       sync.Mutex
	progress func(sent, total int64)
	// cbMu is held while the progress function runs, so SetProgress(nil)
	// returns only when no call is in flight and none can follow: the
	// transport may still read a failed request's body after Do returned.
	cbMu sync.Mutex
	err  error // first ErrChanged seen by any reader
}

type segment struct {
	start, size int64
	mem         []byte   // framing, or nil for a file
	f           *os.File // the file, or nil
	what        string   // "EXE" or "DLL", for messages
	path        string
	modTime     time.Time
}

// NewBody opens the EXE (and the DLL, when dllPath is not empty) and builds
// the framing. The files stay open until Close; their size and modification
// time are re-checked whenever reading of a file starts and ends.
func NewBody(exePath, dllPath string) (*Body, error) {
	return NewNamedBody(exePath, dllPath, "")
}

// NewNamedBody is NewBody with the file name the server is told: name's
// base (e.g. "Shop" of "build/Shop.exe") instead of exePath's, for an EXE
// read from somewhere else, such as the rollback archive. An empty name
// means exePath's.
func NewNamedBody(exePath, dllPath, name string) (*Body, error) {
	if name == "" {
		name = exePath
	}
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	// The 7.15 module finds the EXE by a file name ending in .exe and the
	// DLL by .dll, whatever the local files are called (§1.2).
	files := []struct{ path, field, name, what string }{{exePath, "File", base + ".exe", "EXE"}}
	if dllPath != "" {
		files = append(files, struct{ path, field, name, what string }{dllPath, "Dll", base + ".dll", "DLL"})
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	src := &source{contentType: mw.FormDataContentType()}
	addMem := func() {
		if buf.Len() > 0 {
			src.segs = append(src.segs, segment{start: src.size, size: int64(buf.Len()), mem: bytes.Clone(buf.Bytes())})
			src.size += int64(buf.Len())
			buf.Reset()
		}
	}
	fail := func(err error) (*Body, error) {
		src.closeFiles()
		return nil, err
	}
	for _, file := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, file.field, escapeQuotes(file.name)))
		h.Set("Content-Type", "application/octet-stream")
		if _, err := mw.CreatePart(h); err != nil {
			return fail(err)
		}
		addMem()
		f, err := os.Open(file.path)
		if err != nil {
			return fail(fmt.Errorf("cannot open the %s to upload: %w", file.what, err))
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return fail(fmt.Errorf("cannot read the %s to upload: %w", file.what, err))
		}
		if !st.Mode().IsRegular() {
			f.Close()
			return fail(fmt.Errorf("%s is not a regular file: give the path of the built %s", file.path, file.what))
		}
		src.segs = append(src.segs, segment{start: src.size, size: st.Size(), f: f, what: file.what, path: file.path, modTime: st.ModTime()})
		src.size += st.Size()
	}
	if err := mw.Close(); err != nil {
		return fail(err)
	}
	addMem()
	return &Body{src: src, owner: true}, nil
}

// escapeQuotes is what mime/multipart does for form-data names.
func escapeQuotes(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// Len is the exact number of bytes the body has: the Content-Length.
func (b *Body) Len() int64 { return b.src.size }

// ContentType is the multipart/form-data content type with the boundary.
func (b *Body) ContentType() string { return b.src.contentType }

// FileSize is the size of the EXE when NewBody opened it.
func (b *Body) FileSize() int64 {
	for _, s := range b.src.segs {
		if s.f != nil {
			return s.size
		}
	}
	return 0
}

// SetProgress sets a function told the reading position after each Read
// (the bytes sent so far, going back to 0 when the body is replayed). It is
// shared by all clones and may be called from the HTTP transport's goroutines.
func (b *Body) SetProgress(fn func(sent, total int64)) {
	b.src.cbMu.Lock()
	defer b.src.cbMu.Unlock()
	b.src.mu.Lock()
	b.src.progress = fn
	b.src.mu.Unlock()
}

// Clone returns an independent reader over the same files, at offset 0.
// Closing a clone does not close the files; closing the Body that NewBody
// returned does, and fails reads of every clone.
func (b *Body) Clone() *Body { return &Body{src: b.src} }

// Err returns the first ErrChanged any reader of this body met, so a caller
// can tell it apart from the network error the transport reports.
func (b *Body) Err() error {
	b.src.mu.Lock()
	defer b.src.mu.Unlock()
	return b.src.err
}

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, os.ErrClosed
	}
	if b.off >= b.src.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && b.off < b.src.size {
		s := b.src.seg(b.off)
		rel := b.off - s.start
		want := min(int64(len(p)-n), s.size-rel)
		var m int
		if s.mem != nil {
			m = copy(p[n:n+int(want)], s.mem[rel:])
		} else {
			if rel == 0 {
				if err := b.src.check(s); err != nil {
					return n, err
				}
			}
			var err error
			m, err = s.f.ReadAt(p[n:n+int(want)], rel)
			if m < int(want) {
				if errors.Is(err, io.EOF) || err == nil {
					err = b.src.changed(s, "it is shorter than when the deploy started")
				}
				b.off += int64(m)
				return n + m, err
			}
			if rel+int64(m) == s.size {
				if err := b.src.check(s); err != nil {
					return n + m, err
				}
			}
		}
		n += m
		b.off += int64(m)
	}
	b.src.report(b.off)
	return n, nil
}

// Seek implements io.Seeker.
func (b *Body) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = b.off + offset
	case io.SeekEnd:
		abs = b.src.size + offset
	default:
		return 0, errors.New("uploader: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("uploader: negative position")
	}
	b.off = abs
	return abs, nil
}

// Close implements io.Closer. Reads after Close fail.
func (b *Body) Close() error {
	if b.closed.Swap(true) || !b.owner {
		return nil
	}
	return b.src.closeFiles()
}

func (s *source) seg(off int64) *segment {
	for i := range s.segs {
		if off < s.segs[i].start+s.segs[i].size {
			return &s.segs[i]
		}
	}
	return &s.segs[len(s.segs)-1]
}

// check compares the open file with what NewBody saw. A rebuilt EXE is
// usually a new file at the same path, which the open handle would not see,
// so the path is checked too.
func (s *source) check(seg *segment) error {
	open, err := seg.f.Stat()
	if err != nil {
		return s.changed(seg, "it can no longer be read: "+err.Error())
	}
	now, err := os.Stat(seg.path)
	if err != nil {
		return s.changed(seg, "it can no longer be read: "+err.Error())
	}
	if !os.SameFile(open, now) {
		return s.changed(seg, "a new file was written in its place")
	}
	if open.Size() != seg.size {
		return s.changed(seg, fmt.Sprintf("its size went from %d to %d bytes", seg.size, open.Size()))
	}
	if !open.ModTime().Equal(seg.modTime) {
		return s.changed(seg, "it was written again at "+open.ModTime().Format(time.DateTime))
	}
	return nil
}

func (s *source) changed(seg *segment, why string) error {
	err := fmt.Errorf("%w: the %s %s was modified (%s); let the build finish, then run the deploy again", ErrChanged, seg.what, seg.path, why)
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	return err
}

func (s *source) report(off int64) {
	s.cbMu.Lock()
	defer s.cbMu.Unlock()
	s.mu.Lock()
	fn := s.progress
	s.mu.Unlock()
	if fn != nil {
		fn(off, s.size)
	}
}

func (s *source) closeFiles() error {
	var errs []error
	for _, seg := range s.segs {
		if seg.f != nil {
			errs = append(errs, seg.f.Close())
		}
	}
	return errors.Join(errs...)
}
