//go:build ignore

// Command gen rebuilds the test executables in internal/peversion/testdata: an
// empty Go program cross-compiled for Windows, with a version resource linked
// in as a .syso object written by github.com/tc-hib/winres. Builds are
// stripped and reproducible with the same Go release.
//
// Run from internal/peversion:  go run testdata/gen/main.go
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/tc-hib/winres"
	"github.com/tc-hib/winres/version"
)

type table struct {
	lang    uint16
	strings map[string]string
}

type fixture struct {
	name  string
	arch  winres.Arch
	fixed [2][4]uint16 // numeric FileVersion, ProductVersion
	// tables are the StringFileInfo tables, one per language; none means no
	// version resource at all.
	tables []table
	// manifest adds an RT_MANIFEST, so the file has resources but no version.
	manifest bool
}

var fixtures = []fixture{
	{
		name:  "enus386.exe",
		arch:  winres.ArchI386,
		fixed: [2][4]uint16{{1, 2, 3, 5}, {1, 2, 3, 5}},
		tables: []table{{0x0409, map[string]string{
			version.FileVersion:      "1.2.3.5",
			version.ProductVersion:   "1.2.3.5",
			version.ProductName:      "WcTestApp",
			version.OriginalFilename: "WcTestApp.exe",
		}}},
	},
	{
		name:  "enusamd64.exe",
		arch:  winres.ArchAMD64,
		fixed: [2][4]uint16{{10, 20, 30, 40}, {10, 20, 0, 0}},
		tables: []table{{0x0409, map[string]string{
			version.FileVersion:    "10.20.30.40",
			version.ProductVersion: "10.20",
		}}},
	},
	{
		// A German build whose strings differ from the numeric versions, as
		// VFP lets a developer type anything into the version dialog.
		name:  "de386.exe",
		arch:  winres.ArchI386,
		fixed: [2][4]uint16{{7, 0, 1, 0}, {7, 0, 0, 99}},
		tables: []table{{0x0407, map[string]string{
			version.FileVersion:     "7.0.1 beta",
			version.ProductVersion:  "7.0 Vorabversion",
			version.FileDescription: "Größenprüfung",
		}}},
	},
	{
		// Two tables: Windows (and the server) show US English.
		name:  "multi386.exe",
		arch:  winres.ArchI386,
		fixed: [2][4]uint16{{3, 1, 0, 0}, {3, 1, 0, 0}},
		tables: []table{
			{0x0407, map[string]string{version.FileVersion: "3.1 de", version.ProductVersion: "3.1 de"}},
			{0x0409, map[string]string{version.FileVersion: "3.1 us", version.ProductVersion: "3.1 us"}},
		},
	},
	// Resources but no version. (An EXE without any resources is
	// pkg/sampleexe's Base, which the tests use, so it is not kept here.)
	{name: "manifestonly386.exe", arch: winres.ArchI386, manifest: true},
}

func main() {
	out, err := filepath.Abs("testdata")
	if err != nil {
		fail(err)
	}
	if _, err := os.Stat(filepath.Join(out, "gen")); err != nil {
		fail(fmt.Errorf("run me from internal/peversion: %w", err))
	}
	for _, f := range fixtures {
		if err := build(f, filepath.Join(out, f.name)); err != nil {
			fail(fmt.Errorf("%s: %w", f.name, err))
		}
		fmt.Println("wrote", filepath.Join("testdata", f.name))
	}
}

func build(f fixture, dst string) error {
	dir, err := os.MkdirTemp("", "pegen")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"go.mod":  "module pefixture\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() {}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	if len(f.tables) > 0 || f.manifest {
		rs := &winres.ResourceSet{}
		if len(f.tables) > 0 {
			var vi version.Info
			vi.FileVersion, vi.ProductVersion = f.fixed[0], f.fixed[1]
			for _, t := range f.tables {
				for k, v := range t.strings {
					if err := vi.Set(t.lang, k, v); err != nil {
						return err
					}
				}
			}
			rs.SetVersionInfo(vi)
		}
		if f.manifest {
			rs.SetManifest(winres.AppManifest{ExecutionLevel: winres.AsInvoker})
		}
		syso, err := os.Create(filepath.Join(dir, "rsrc_windows_"+string(f.arch)+".syso"))
		if err != nil {
			return err
		}
		if err := rs.WriteObject(syso, f.arch); err != nil {
			syso.Close()
			return err
		}
		if err := syso.Close(); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", dst, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH="+string(f.arch), "CGO_ENABLED=0", "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
