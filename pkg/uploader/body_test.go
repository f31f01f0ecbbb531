package uploader

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type part struct {
	name, filename, ctype string
	data                  []byte
}

func readParts(t *testing.T, body []byte, contentType string) []part {
	t.Helper()
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var parts []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), data})
	}
}

func TestBodyFraming(t *testing.T) {
	dir := t.TempDir()
	exe, exeData := writeFile(t, dir, "WcTestApp.exe", 70000)
	dll, dllData := writeFile(t, dir, "loader.dll", 1234)
	odd, oddData := writeFile(t, dir, `build "output".bin`, 10)
	empty, _ := writeFile(t, dir, "Empty.EXE", 0)

	tests := []struct {
		name     string
		exe, dll string
		want     []part
	}{
		{"exe only", exe, "", []part{{"File", "WcTestApp.exe", "application/octet-stream", exeData}}},
		{"exe and dll", exe, dll, []part{
			{"File", "WcTestApp.exe", "application/octet-stream", exeData},
			{"Dll", "WcTestApp.dll", "application/octet-stream", dllData}}},
		// The module finds the EXE by the .exe suffix of the file name.
		{"other name", odd, "", []part{{"File", `build "output".exe`, "application/octet-stream", oddData}}},
		{"empty file", empty, "", []part{{"File", "Empty.exe", "application/octet-stream", nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBody(tc.exe, tc.dll)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			all, err := io.ReadAll(b)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(all)) != b.Len() {
				t.Errorf("read %d bytes, Len %d", len(all), b.Len())
			}
			got := readParts(t, all, b.ContentType())
			if len(got) != len(tc.want) {
				t.Fatalf("%d parts, want %d", len(got), len(tc.want))
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.name != w.name || g.filename != w.filename || g.ctype != w.ctype || !bytes.Equal(g.data, w.data) {
					t.Errorf("part %d: got %q %q %q (%d bytes), want %q %q %q (%d bytes)", i, g.name, g.filename, g.ctype, len(g.data), w.name, w.filename, w.ctype, len(w.data))
				}
			}
			if b.FileSize() != int64(len(tc.want[0].data)) {
				t.Errorf("FileSize %d", b.FileSize())
			}
		})
	}
}

// Every position reads the same bytes after a Seek, in any read size: what
// go-ntlmssp and GetBody rely on to send the body again.
func TestBodySeek(t *testing.T) {
	dir := t.TempDir()
	exe, _ := writeFile(t, dir, "a.exe", 20003)
	dll, _ := writeFile(t, dir, "a.dll", 5001)
	b, err := NewBody(exe, dll)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	whole, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 1, 100, 180, 5000, 20100, 20300, int64(len(whole)) - 3, int64(len(whole))} {
		for _, chunk := range []int{3, 7, 4096, 1 << 20} {
			if _, err := b.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			var got []byte
			buf := make([]byte, chunk)
			for {
				n, err := b.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, whole[off:]) {
				t.Fatalf("offset %d chunk %d: %d bytes differ from the whole body", off, chunk, len(got))
			}
		}
	}
	if pos, err := b.Seek(-10, io.SeekEnd); err != nil || pos != b.Len()-10 {
		t.Errorf("SeekEnd: %d, %v", pos, err)
	}
	if pos, err := b.Seek(4, io.SeekCurrent); err != nil || pos != b.Len()-6 {
		t.Errorf("SeekCurrent: %d, %v", pos, err)
	}
	if _, err := b.Seek(-1, io.SeekStart); err == nil {
		t.Error("negative seek accepted")
	}
	if _, err := b.Seek(b.Len()+5, io.SeekStart); err != nil {
		t.Error(err)
	}
	if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("read past end: %d, %v", n, err)
	}
}

func TestBodyProgressAndClone(t *testing.T) {
	dir := t.TempDir()
	exe, _ := writeFile(t, dir, "a.exe", 50000)
	b, err := NewBody(exe, "")
	if err != nil {
		t.Fatal(err)
	}
	var seen []int64
	b.SetProgress(func(sent, total int64) {
		if total != b.Len() {
			t.Errorf("total %d", total)
		}
		seen = append(seen, sent)
	})
	c := b.Clone()
	if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, make([]byte, 8192)); err != nil {
		t.Fatal(err)
	}
	if len(seen) < 6 || seen[len(seen)-1] != b.Len() {
		t.Errorf("progress %v", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Errorf("progress not increasing: %v", seen)
		}
	}
	// Closing a clone leaves the files open for the others.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	if _, err := io.ReadAll(b.Clone()); err != nil {
		t.Errorf("clone after clone closed: %v", err)
	}
	// Closing the owner fails every clone.
	d := b.Clone()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(d); err == nil {
		t.Error("clone read after owner closed")
	}
}

func TestBodyChanged(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"touched", func(t *testing.T, p string) {
			if err := os.Chtimes(p, time.Now(), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
		{"grown", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("more"))
			f.Close()
		}},
		{"truncated", func(t *testing.T, p string) {
			if err := os.Truncate(p, 100); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced", func(t *testing.T, p string) {
			tmp := p + ".new"
			if err := os.WriteFile(tmp, make([]byte, 30000), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"deleted", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		for _, when := range []string{"before reading", "while reading"} {
			t.Run(tc.name+" "+when, func(t *testing.T) {
				exe, _ := writeFile(t, t.TempDir(), "a.exe", 30000)
				b, err := NewBody(exe, "")
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				if when == "while reading" {
					if _, err := io.ReadFull(b, make([]byte, 10000)); err != nil {
						t.Fatal(err)
					}
				}
				tc.change(t, exe)
				_, err = io.ReadAll(b)
				if !errors.Is(err, ErrChanged) {
					t.Fatalf("err = %v, want ErrChanged", err)
				}
				if !errors.Is(b.Err(), ErrChanged) {
					t.Errorf("Err() = %v", b.Err())
				}
			})
		}
	}
}

func TestNewBodyErrors(t *testing.T) {
	dir := t.TempDir()
	exe, _ := writeFile(t, dir, "a.exe", 10)
	if _, err := NewBody(filepath.Join(dir, "missing.exe"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing exe: %v", err)
	}
	if _, err := NewBody(exe, filepath.Join(dir, "missing.dll")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dll: %v", err)
	}
	if _, err := NewBody(dir, ""); err == nil {
		t.Error("a directory was accepted")
	}
}
