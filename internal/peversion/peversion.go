// Package peversion reads what Windows shows in an EXE's "Details" tab: the
// StringFileInfo FileVersion and ProductVersion strings and the numeric
// VS_FIXEDFILEINFO versions, plus the file's size and SHA-256.
//
// The Web Connection server compares the FileVersion *string* (wc-protocol.md
// §5), so that is the value deploys verify against.
package peversion

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"

	"github.com/tc-hib/winres"
	"github.com/tc-hib/winres/version"
)

// Errors callers can test with errors.Is.
var (
	ErrNotPE     = errors.New("not a Windows executable (no PE header)")
	ErrTruncated = errors.New("the executable is truncated or damaged")
	ErrNoVersion = errors.New("the executable has no version resource")
)

// Info is what Read returns.
type Info struct {
	Path                string `json:"path,omitempty"`
	FileVersion         string `json:"file_version"`    // StringFileInfo FileVersion, verbatim
	ProductVersion      string `json:"product_version"` // StringFileInfo ProductVersion, verbatim
	FixedFileVersion    Fixed  `json:"fixed_file_version"`
	FixedProductVersion Fixed  `json:"fixed_product_version"`
	Size                int64  `json:"size"`
	SHA256              string `json:"sha256"`
}

// Fixed is a numeric VS_FIXEDFILEINFO version.
type Fixed [4]uint16

func (f Fixed) String() string {
	return fmt.Sprintf("%d.%d.%d.%d", f[0], f[1], f[2], f[3])
}

// MarshalText renders the version as "a.b.c.d".
func (f Fixed) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// ReadFile reads the version resource, size and SHA-256 of the file at path.
func ReadFile(path string) (*Info, error) {
	return readFile(path, true)
}

// ReadVersionFile reads the version resource and size of the file at path
// without hashing it: only the headers and the resource section are read,
// so it costs the same for a 1 MB and a 1 GB EXE. SHA256 stays empty; see
// HashFile.
func ReadVersionFile(path string) (*Info, error) {
	return readFile(path, false)
}

func readFile(path string, hash bool) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := read(f, hash)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	info.Path = path
	return info, nil
}

// HashFile returns the hex SHA-256 and the size of the file at path.
func HashFile(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Read reads an executable from r. It hashes the whole stream once.
func Read(r io.ReadSeeker) (*Info, error) {
	return read(r, true)
}

func read(r io.ReadSeeker, hash bool) (*Info, error) {
	if err := checkPE(r); err != nil {
		return nil, err
	}
	vi, err := versionInfo(r)
	if err != nil {
		return nil, err
	}
	info := &Info{
		FixedFileVersion:    Fixed(vi.FileVersion),
		FixedProductVersion: Fixed(vi.ProductVersion),
	}
	info.FileVersion, info.ProductVersion, err = stringVersions(vi)
	if err != nil {
		return nil, err
	}
	if !hash {
		n, err := r.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, err
		}
		info.Size = n
		return info, nil
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return nil, err
	}
	info.Size = n
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, nil
}

// checkPE tells "not an EXE at all" apart from "an EXE that is cut short",
// which the resource library reports with the same kinds of errors.
func checkPE(r io.ReadSeeker) error {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return err
	}
	var dos [64]byte
	n, _ := io.ReadFull(r, dos[:])
	if n < 2 || dos[0] != 'M' || dos[1] != 'Z' {
		return ErrNotPE
	}
	if n < 64 {
		return ErrTruncated
	}
	off := int64(binary.LittleEndian.Uint32(dos[60:]))
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		return ErrTruncated
	}
	var sig [4]byte
	if _, err := io.ReadFull(r, sig[:]); err != nil {
		return ErrTruncated
	}
	if !bytes.Equal(sig[:], []byte("PE\x00\x00")) {
		return ErrNotPE
	}
	return nil
}

func versionInfo(r io.ReadSeeker) (vi *version.Info, err error) {
	// The library indexes slices with offsets taken from the file; a damaged
	// file must come back as an error, never as a crash of the whole tool.
	defer func() {
		if p := recover(); p != nil {
			vi, err = nil, ErrTruncated
		}
	}()
	rs, err := winres.LoadFromEXESingleType(r, winres.RT_VERSION)
	if errors.Is(err, winres.ErrNoResources) {
		return nil, ErrNoVersion
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTruncated, err)
	}
	// A multilingual EXE carries one VERSIONINFO per language as resource
	// translations; take the one Windows shows on an English server, not
	// whichever comes first in the file.
	var data []byte
	best := 0
	rs.WalkType(winres.RT_VERSION, func(_ winres.Identifier, lang uint16, d []byte) bool {
		if r := langRank(lang); data == nil || r < best {
			data, best = d, r
		}
		return true
	})
	if data == nil {
		return nil, ErrNoVersion
	}
	vi, err = version.FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%w: version resource: %v", ErrTruncated, err)
	}
	return vi, nil
}

// stringVersions picks the string table Windows would show: the only one, or
// US English, or language-neutral, or the lowest language ID.
func stringVersions(vi *version.Info) (fileVer, productVer string, err error) {
	raw, err := json.Marshal(vi)
	if err != nil {
		return "", "", err
	}
	var doc struct {
		Info map[string]map[string]string `json:"info"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", "", err
	}
	if len(doc.Info) == 0 {
		return "", "", nil
	}
	langs := make([]string, 0, len(doc.Info))
	for k := range doc.Info {
		langs = append(langs, k)
	}
	sort.Slice(langs, func(i, j int) bool { return hexLangRank(langs[i]) < hexLangRank(langs[j]) })
	t := doc.Info[langs[0]]
	return t[version.FileVersion], t[version.ProductVersion], nil
}

func hexLangRank(hexID string) int {
	id, err := strconv.ParseUint(hexID, 16, 16)
	if err != nil {
		return 1 << 20
	}
	return langRank(uint16(id))
}

// langRank orders languages: US English, then neutral, then by ID.
func langRank(id uint16) int {
	switch {
	case id == version.LangDefault:
		return -2
	case id == version.LangNeutral:
		return -1
	default:
		return int(id)
	}
}
