package peversion_test

import (
	"bytes"
	"crypto/sha256"
	"debug/pe"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// The fixtures are made by testdata/gen/main.go; see there for the recipe.
var fixtures = []struct {
	file             string
	fileVer, prodVer string
	fixedFile        peversion.Fixed
	fixedProd        peversion.Fixed
	machine          uint16
}{
	{"enus386.exe", "1.2.3.5", "1.2.3.5", peversion.Fixed{1, 2, 3, 5}, peversion.Fixed{1, 2, 3, 5}, pe.IMAGE_FILE_MACHINE_I386},
	{"enusamd64.exe", "10.20.30.40", "10.20", peversion.Fixed{10, 20, 30, 40}, peversion.Fixed{10, 20, 0, 0}, pe.IMAGE_FILE_MACHINE_AMD64},
	// German table; the strings are not what the numeric versions say.
	{"de386.exe", "7.0.1 beta", "7.0 Vorabversion", peversion.Fixed{7, 0, 1, 0}, peversion.Fixed{7, 0, 0, 99}, pe.IMAGE_FILE_MACHINE_I386},
	// German and US tables: the US one wins, as on an English server.
	{"multi386.exe", "3.1 us", "3.1 us", peversion.Fixed{3, 1, 0, 0}, peversion.Fixed{3, 1, 0, 0}, pe.IMAGE_FILE_MACHINE_I386},
}

func TestReadFileFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			path := filepath.Join("testdata", fx.file)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Guard against a fixture silently rebuilt for another CPU.
			pf, err := pe.NewFile(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if pf.Machine != fx.machine {
				t.Fatalf("machine %#x, want %#x", pf.Machine, fx.machine)
			}
			info, err := peversion.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(raw)
			want := peversion.Info{
				Path:                path,
				FileVersion:         fx.fileVer,
				ProductVersion:      fx.prodVer,
				FixedFileVersion:    fx.fixedFile,
				FixedProductVersion: fx.fixedProd,
				Size:                int64(len(raw)),
				SHA256:              hex.EncodeToString(sum[:]),
			}
			if *info != want {
				t.Errorf("got  %+v\nwant %+v", *info, want)
			}
		})
	}
}

func TestFixedString(t *testing.T) {
	b, err := peversion.Fixed{7, 0, 0, 99}.MarshalText()
	if err != nil || string(b) != "7.0.0.99" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
}

func TestNoVersion(t *testing.T) {
	base, err := sampleexe.Base()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join("testdata", "manifestonly386.exe"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"no resources": base, "manifest only": manifest} {
		t.Run(name, func(t *testing.T) {
			_, err := peversion.Read(bytes.NewReader(b))
			if !errors.Is(err, peversion.ErrNoVersion) {
				t.Errorf("err = %v, want ErrNoVersion", err)
			}
		})
	}
}

func TestNotPE(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]byte{
		"empty":       nil,
		"text":        []byte("this is a readme, not a program\n"),
		"one byte":    []byte("M"),
		"zip":         []byte("PK\x03\x04 not an exe"),
		"MZ, bad sig": append(append([]byte("MZ"), make([]byte, 58)...), 64, 0, 0, 0, 'E', 'L', 'F', 0),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "x.exe")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := peversion.ReadFile(p)
			if !errors.Is(err, peversion.ErrNotPE) {
				t.Errorf("err = %v, want ErrNotPE", err)
			}
		})
	}
	if _, err := peversion.ReadFile(filepath.Join(dir, "missing.exe")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
}

// A file cut anywhere up to the end of its resource section must give an
// error, never a panic or a version read from garbage.
func TestTruncated(t *testing.T) {
	for _, fx := range fixtures {
		raw, err := os.ReadFile(filepath.Join("testdata", fx.file))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := pe.NewFile(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		rsrc := pf.Section(".rsrc")
		if rsrc == nil {
			t.Fatalf("%s: no .rsrc section", fx.file)
		}
		start, end := int(rsrc.Offset), int(rsrc.Offset+rsrc.Size)
		if end != len(raw) {
			t.Fatalf("%s: .rsrc is not the last thing in the file; the cut points below assume it is", fx.file)
		}
		peOff := int(raw[60]) | int(raw[61])<<8
		cuts := []int{2, 10, 63, 64, peOff + 2, peOff + 24, peOff + 100, 1000, len(raw) / 2,
			start - 1, start, start + 1, start + 16, start + 40, start + 100, start + 200,
			start + (end-start)/2, end - 200, end - 64, end - 1}
		for _, n := range cuts {
			_, err := peversion.Read(bytes.NewReader(raw[:n]))
			if err == nil {
				t.Errorf("%s cut at %d of %d (.rsrc %d..%d): no error", fx.file, n, len(raw), start, end)
				continue
			}
			if !errors.Is(err, peversion.ErrTruncated) && !errors.Is(err, peversion.ErrNotPE) && !errors.Is(err, peversion.ErrNoVersion) {
				t.Errorf("%s cut at %d: unexpected error kind: %v", fx.file, n, err)
			}
		}
	}
}

// Bytes flipped inside the resource section: an error or a result, but no
// crash (the resource library indexes with offsets from the file).
func TestCorruptResources(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "enus386.exe"))
	if err != nil {
		t.Fatal(err)
	}
	pf, err := pe.NewFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	rsrc := pf.Section(".rsrc")
	for off := int(rsrc.Offset); off < int(rsrc.Offset+rsrc.Size); off += 13 {
		for _, v := range []byte{0x00, 0xff} {
			b := bytes.Clone(raw)
			b[off] = v
			_, _ = peversion.Read(bytes.NewReader(b))
		}
	}
}

func FuzzRead(f *testing.F) {
	for _, fx := range append([]string{"manifestonly386.exe"}, fixtureNames()...) {
		raw, err := os.ReadFile(filepath.Join("testdata", fx))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("MZ"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := peversion.Read(bytes.NewReader(b))
		if err != nil {
			if info != nil {
				t.Errorf("info %+v with error %v", info, err)
			}
			return
		}
		if info.Size != int64(len(b)) {
			t.Errorf("size %d, input %d bytes", info.Size, len(b))
		}
		sum := sha256.Sum256(b)
		if info.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("sha256 mismatch")
		}
	})
}

func fixtureNames() []string {
	var s []string
	for _, fx := range fixtures {
		s = append(s, fx.file)
	}
	return s
}

// ReadVersionFile gives the same answer as ReadFile without the hash, and
// HashFile gives the hash ReadFile computes.
func TestReadVersionFileAndHashFile(t *testing.T) {
	for _, name := range []string{"enus386.exe", "de386.exe", "multi386.exe"} {
		path := filepath.Join("testdata", name)
		full, err := peversion.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		quick, err := peversion.ReadVersionFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if quick.SHA256 != "" || quick.FileVersion != full.FileVersion || quick.ProductVersion != full.ProductVersion ||
			quick.Size != full.Size || quick.FixedFileVersion != full.FixedFileVersion {
			t.Errorf("%s: ReadVersionFile %+v, ReadFile %+v", name, quick, full)
		}
		sum, size, err := peversion.HashFile(path)
		if err != nil || sum != full.SHA256 || size != full.Size {
			t.Errorf("%s: HashFile = %s %d %v, want %s %d", name, sum, size, err, full.SHA256, full.Size)
		}
	}
	if _, _, err := peversion.HashFile(filepath.Join("testdata", "missing.exe")); err == nil {
		t.Error("HashFile of a missing file: no error")
	}
}
