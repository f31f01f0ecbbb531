package sampleexe

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/peversion"
)

func TestBuildRoundTrip(t *testing.T) {
	cases := []Options{
		{FileVersion: "1.2.3.5"},
		{FileVersion: "7.0.1 beta", ProductVersion: "7.0", Lang: 0x0407},
		{FileVersion: "2.0.0.1", Size: 3 << 20, Seed: 9},
	}
	for _, o := range cases {
		b, err := Build(o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		info, err := peversion.Read(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%+v: read back: %v", o, err)
		}
		wantPV := o.ProductVersion
		if wantPV == "" {
			wantPV = o.FileVersion
		}
		if info.FileVersion != o.FileVersion || info.ProductVersion != wantPV {
			t.Errorf("%+v: got file %q product %q", o, info.FileVersion, info.ProductVersion)
		}
		if o.Size != 0 && info.Size != o.Size {
			t.Errorf("%+v: size %d, want %d", o, info.Size, o.Size)
		}
	}
}

func TestSeedChangesContentNotVersion(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.exe"), filepath.Join(dir, "b.exe")
	if err := WriteFile(a, Options{FileVersion: "1.0.0.1", Size: 2 << 20, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(b, Options{FileVersion: "1.0.0.1", Size: 2 << 20, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	ia, err := peversion.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := peversion.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if ia.SHA256 == ib.SHA256 || ia.FileVersion != ib.FileVersion || ia.Size != ib.Size {
		t.Errorf("a=%+v b=%+v", ia, ib)
	}
}

func TestTooSmall(t *testing.T) {
	if _, err := Build(Options{FileVersion: "1.0", Size: 10}); err == nil {
		t.Error("want an error for a size smaller than the executable")
	}
}

func TestUnversioned(t *testing.T) {
	b, err := Base()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peversion.Read(bytes.NewReader(b)); err != peversion.ErrNoVersion {
		t.Errorf("err = %v, want ErrNoVersion", err)
	}
}
