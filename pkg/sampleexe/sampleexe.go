// Package sampleexe makes real Windows executables with a chosen version
// resource and size, for the demo, the emulator's initial ExeFile, tests and
// benchmarks. Each one is a small 32-bit Go program (base/make.sh) whose
// resource section is written by github.com/tc-hib/winres, padded with an
// overlay to the size asked for.
package sampleexe

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/tc-hib/winres"
	"github.com/tc-hib/winres/version"
)

//go:embed base/tiny386.exe.gz
var baseGz []byte

var base = sync.OnceValues(func() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(baseGz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
})

// Options describe the executable to make.
type Options struct {
	FileVersion    string // StringFileInfo FileVersion, e.g. "1.2.3.5"; empty = no version resource
	ProductVersion string // defaults to FileVersion
	Description    string // FileDescription
	Lang           uint16 // string table language; 0 means 0x0409 (en-US)
	Size           int64  // total size in bytes; 0 means as small as possible
	// Seed varies the padding bytes so that two files of the same version
	// and size can still differ (a rebuilt EXE).
	Seed byte
}

// Base returns the unversioned base executable.
func Base() ([]byte, error) {
	b, err := base()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// Build returns the executable in memory. Use Write for large sizes.
func Build(o Options) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := Write(&buf, o); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFile writes the executable to path.
func WriteFile(path string, o Options) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := Write(f, o); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Write streams the executable to w and returns the bytes written. Padding
// is streamed, so a 1 GiB file costs no memory.
func Write(w io.Writer, o Options) (int64, error) {
	exe, err := versioned(o)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(exe)
	written := int64(n)
	if err != nil {
		return written, err
	}
	if o.Size == 0 {
		return written, nil
	}
	if o.Size < written {
		return written, fmt.Errorf("sampleexe: size %d is smaller than the executable (%d bytes)", o.Size, written)
	}
	pad, err := io.Copy(w, io.LimitReader(&pattern{seed: o.Seed}, o.Size-written))
	return written + pad, err
}

func versioned(o Options) ([]byte, error) {
	b, err := base()
	if err != nil {
		return nil, err
	}
	if o.FileVersion == "" {
		return bytes.Clone(b), nil
	}
	lang := o.Lang
	if lang == 0 {
		lang = version.LangDefault
	}
	pv := o.ProductVersion
	if pv == "" {
		pv = o.FileVersion
	}
	var vi version.Info
	vi.SetFileVersion(o.FileVersion)
	vi.SetProductVersion(pv)
	// SetFileVersion fills the neutral table; move the strings to lang.
	for _, kv := range [][2]string{
		{version.FileVersion, o.FileVersion},
		{version.ProductVersion, pv},
		{version.ProductName, "wcdeploy sample server"},
		{version.FileDescription, o.Description},
		{version.OriginalFilename, "WcDemo.exe"},
	} {
		if kv[1] == "" {
			continue
		}
		if err := vi.Set(lang, kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	if lang != version.LangNeutral {
		vi = *dropNeutral(&vi, lang)
	}
	rs := &winres.ResourceSet{}
	rs.SetVersionInfo(vi)
	var out bytes.Buffer
	if err := rs.WriteToEXE(&out, bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("sampleexe: writing resources: %w", err)
	}
	return out.Bytes(), nil
}

// dropNeutral keeps only the lang translation, so the EXE has one string
// table, as VFP writes it.
func dropNeutral(vi *version.Info, lang uint16) *version.Info {
	if t, ok := vi.SplitTranslations()[lang]; ok {
		return t
	}
	return vi
}

// pattern is a cheap, deterministic, non-compressible-looking byte stream.
type pattern struct {
	seed byte
	i    uint64
}

func (p *pattern) Read(b []byte) (int, error) {
	for k := range b {
		x := (p.i + uint64(p.seed)<<48) * 0x9E3779B97F4A7C15
		b[k] = byte(x>>56 ^ x>>29)
		p.i++
	}
	return len(b), nil
}
